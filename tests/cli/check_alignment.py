#!/usr/bin/env python3
"""Checks a data directory's ali.ctm against its audio (standard library only).

For every utterance of wav.scp: the phone segments tile the audio from 0 to
its duration (1 ms tolerance: CTM times are whole milliseconds), every phone
is in the shared inventory, pauses ("sil" of 60 ms or more) are quiet, and
phones are loud: the median pause RMS is under 2% of the median vowel RMS.
Prints one summary line; exits 1 with the first problem otherwise.
"""
import array
import statistics
import sys
import wave

INVENTORY = set("aa ae ah ao aw ay b ch d dh eh er ey f g hh ih iy jh k l m n ng "
                "ow oy p r s sh t th uh uw v w y z zh sil".split())
VOWELS = {"aa", "ae", "ah", "ao", "aw", "ay", "eh", "er", "ey", "ih", "iy", "ow", "oy", "uh", "uw"}


def rms(x, a, b):
    seg = x[a:b]
    if not seg:
        return 0.0
    return (sum(v * v for v in seg) / len(seg)) ** 0.5


def main(d):
    wavs = dict(line.split(None, 1) for line in open(f"{d}/wav.scp"))
    segs = {}
    for n, line in enumerate(open(f"{d}/ali.ctm"), 1):
        f = line.split()
        if len(f) != 5 or f[1] != "1":
            sys.exit(f"{d}/ali.ctm:{n}: not 'utt 1 start dur phone'")
        segs.setdefault(f[0], []).append((float(f[2]), float(f[3]), f[4]))
    if set(segs) != set(wavs):
        sys.exit(f"{d}: ali.ctm and wav.scp have different utterances")
    pauses, vowels, n_sil = [], [], 0
    for utt, path in wavs.items():
        with wave.open(path.strip()) as w:
            if w.getframerate() != 16000 or w.getsampwidth() != 2 or w.getnchannels() != 1:
                sys.exit(f"{path}: not 16 kHz 16-bit mono")
            x = array.array("h", w.readframes(w.getnframes()))
        dur = len(x) / 16000
        t = 0.0
        for start, length, phone in segs[utt]:
            if abs(start - t) > 0.0015 or length <= 0:
                sys.exit(f"{utt}: segment at {start} does not follow the previous one (ends {t})")
            if phone not in INVENTORY:
                sys.exit(f"{utt}: phone '{phone}' not in the inventory")
            t = start + length
            a, b = int(start * 16000), int(t * 16000)
            if phone == "sil" and length >= 0.06:
                n_sil += 1
                pauses.append(rms(x, a + 320, b - 320))  # inner part: 20 ms off each edge
            elif phone in VOWELS and length >= 0.04:
                vowels.append(rms(x, a, b))
        if abs(t - dur) > 0.0015:
            sys.exit(f"{utt}: phones end at {t:.3f} s, audio at {dur:.3f} s")
    if not pauses or not vowels:
        sys.exit(f"{d}: no pauses or no vowels to compare")
    p, v = statistics.median(pauses), statistics.median(vowels)
    if p >= 0.02 * v:
        sys.exit(f"{d}: pauses are not quiet (median rms {p:.1f} vs vowels {v:.1f})")
    print(f"ok {len(wavs)} utterances, {n_sil} pauses, pause rms {p:.1f}, vowel rms {v:.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
