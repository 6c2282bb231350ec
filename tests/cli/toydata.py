#!/usr/bin/env python3
"""A small synthetic grounded corpus for the sb-train / sb-embed tests.

Python standard library only (no numpy): writes .npz files that
`sb-tensor from-npy` turns into archives, and Kaldi-style text tables.

Each image shows WORDS_PER_IMAGE objects out of a small word list; its
vector is the sum of the objects' random vectors plus noise. Each caption
names the image's objects in random order; its "speech" is one noisy
13-dim prototype per character, held for a few frames. So the content of
an utterance determines its image, and only a model that reads the frames
can retrieve it.

usage: toydata.py OUTDIR IMAGES CAPTIONS_PER_IMAGE SEED [--no-images]
                  [--words N] [--frames-per-char N] [--image-dim D]
(the last three make benchmark-sized data: Flickr8K-like captions of ~300
frames and 4096-d VGG-like image vectors)
"""
import io
import random
import struct
import sys
import zipfile

WORDS = ["red", "blue", "dog", "cat", "ball", "tree", "boy", "girl", "sun", "car", "bird", "fish"]
WORDS_PER_IMAGE = 3
FEAT_DIM = 13
IMAGE_DIM = 48


def npy(shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join("%d, " % d for d in shape) if len(shape) > 1 else "%d," % shape[0])
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")
            + struct.pack("<%df" % len(values), *values))


def write_npz(path, arrays):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for key, (shape, values) in arrays:
            z.writestr(key + ".npy", npy(shape, values))


def flag(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main():
    global IMAGE_DIM
    out, n_images, per_image, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with_images = "--no-images" not in sys.argv
    n_words = flag("--words", WORDS_PER_IMAGE)
    hold = flag("--frames-per-char", 0)
    IMAGE_DIM = flag("--image-dim", IMAGE_DIM)
    # Prototypes are fixed (seed 0) so that every corpus made by this script
    # speaks the same "language"; the seed only picks images and captions.
    proto = random.Random(0)
    letters = sorted(set("".join(WORDS) + " "))
    char_vec = {c: [proto.gauss(0, 1) for _ in range(FEAT_DIM)] for c in letters}
    word_vec = {w: [proto.gauss(0, 1) for _ in range(IMAGE_DIM)] for w in WORDS}
    rng = random.Random(seed)
    feats, images, text, utt2img = [], [], [], []
    for i in range(n_images):
        img = "img%s%03d" % (seed, i)
        objs = rng.sample(WORDS, n_words)
        vec = [sum(word_vec[w][d] for w in objs) + rng.gauss(0, 0.3) for d in range(IMAGE_DIM)]
        images.append((img, ([IMAGE_DIM], vec)))
        for c in range(per_image):
            utt = "utt%s%03d_%d" % (seed, i, c)
            words = objs[:]
            rng.shuffle(words)
            caption = " ".join(words)
            frames = []
            for ch in caption:
                for _ in range(hold or rng.choice((2, 3))):
                    frames.extend(v + rng.gauss(0, 0.3) for v in char_vec[ch])
            feats.append((utt, ([len(frames) // FEAT_DIM, FEAT_DIM], frames)))
            text.append("%s %s\n" % (utt, caption))
            utt2img.append("%s %s\n" % (utt, img))
    write_npz(out + "/feats.npz", feats)
    with open(out + "/text", "w") as f:
        f.writelines(text)
    if with_images:
        write_npz(out + "/images.npz", images)
        with open(out + "/utt2img", "w") as f:
            f.writelines(utt2img)


if __name__ == "__main__":
    main()
