#!/usr/bin/python3
# torchaudio's MFCC on one file, one thread, CPU time (best of --repeat):
#   transforms  torchaudio.transforms.MFCC at sb-mfcc's default geometry
#               (400-sample rectangular frames every 160, N = 512, 26 mel
#               filters, 13 coefficients, no centring)
#   kaldi       torchaudio.compliance.kaldi.mfcc (compute-mfcc-feats' defaults, dither 0)
# Prints "<kind> frames=<n> compute=<s> load=<s>": seconds of CPU for the
# features from samples in memory, and for torchaudio.load of the file.
import argparse, time
import torch, torchaudio

ap = argparse.ArgumentParser()
ap.add_argument("wav")
ap.add_argument("kind", choices=["transforms", "kaldi"])
ap.add_argument("--repeat", type=int, default=3)
a = ap.parse_args()
torch.set_num_threads(1)

def best(f):
    t = float("inf")
    for _ in range(a.repeat):
        t0 = time.process_time()
        y = f()
        t = min(t, time.process_time() - t0)
    return t, y

load, (wav, sr) = best(lambda: torchaudio.load(a.wav))
if a.kind == "transforms":
    m = torchaudio.transforms.MFCC(sample_rate=sr, n_mfcc=13, melkwargs=dict(
        n_fft=512, win_length=400, hop_length=160, n_mels=26, center=False,
        window_fn=lambda n: torch.ones(n)))
    f = lambda: m(wav)
else:
    f = lambda: torchaudio.compliance.kaldi.mfcc(wav * 32768, sample_frequency=sr, dither=0.0)
f()  # warm-up (allocator, plans)
compute, y = best(f)
frames = y.shape[-1] if a.kind == "transforms" else y.shape[0]
print(f"{a.kind} frames={frames} compute={compute:.4f} load={load:.4f}")
