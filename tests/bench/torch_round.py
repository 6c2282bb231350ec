#!/usr/bin/python3
"""The PyTorch twin of tests/bench/bench_engine.cc: one 3-task training round
(st, si, ti; batch 16; 300-frame utterances, 50-character captions, 4096-d
images; speech conv + S=2 GRU layers, S2I=2, S2T=0, text T=1, T2I=1, T2S=0;
attention hidden 128; Adam lr 2e-4, clipping 2.0), timed per round.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 torch_round.py H [rounds [threads]]

prints "H <h> torch <seconds per round>" and the process CPU time per round
(with 1 thread on a busy machine: the time on a quiet core). 2 torch
threads by default, as the issue's reference figures were measured.
SB_TORCH_DEVICE=cuda runs it on the GPU (cuDNN's GRU, TF32 off), timed with
torch.cuda.synchronize() at the end of each round."""
import os
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
torch.manual_seed(1)
DEV = torch.device(os.environ.get("SB_TORCH_DEVICE", "cpu"))
if DEV.type == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
B, FRAMES, CHARS, MFCC, IMAGE, VOCAB, EMBED, ATTN = 16, 300, 50, 13, 4096, 40, 128, 128


class Attention(nn.Module):
    def __init__(self, size, hidden=ATTN):
        super().__init__()
        self.W = nn.Linear(size, hidden)
        self.U = nn.Linear(hidden, 1)

    def forward(self, x):  # T x B x D
        a = torch.softmax(self.U(torch.tanh(self.W(x))), dim=0)
        return (a * x).sum(0)


class Top(nn.Module):  # task-specific GRU stack + attention + L2 norm
    def __init__(self, H, layers):
        super().__init__()
        self.gru = nn.GRU(H, H, layers) if layers > 0 else None
        self.attn = Attention(H)

    def forward(self, x):
        if self.gru is not None:
            x, _ = self.gru(x)
        return nn.functional.normalize(self.attn(x), dim=1)


def contrastive(u, v, margin=0.2):
    M = u @ v.t()
    d = torch.diag(M)
    cost = torch.clamp(margin + M - d[None, :], min=0) + torch.clamp(margin + M - d[:, None], min=0)
    cost = cost * (1 - torch.eye(M.shape[0], device=M.device))
    return cost.sum() / M.shape[0] ** 2


def main():
    H = int(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else (3 if H >= 1024 else 10)
    conv = nn.Conv1d(MFCC, 64, 6, stride=2, padding=6, bias=False)
    speech = nn.GRU(64, H, 2)
    embed = nn.Embedding(VOCAB, EMBED)
    text = nn.GRU(EMBED, H, 1)
    s2i, s2t, t2i, t2s = Top(H, 2), Top(H, 0), Top(H, 1), Top(H, 0)
    i2s, i2t = nn.Linear(IMAGE, H), nn.Linear(IMAGE, H)
    for m in (conv, speech, embed, text, s2i, s2t, t2i, t2s, i2s, i2t):
        m.to(DEV)
    shared_s = list(conv.parameters()) + list(speech.parameters())
    shared_t = list(embed.parameters()) + list(text.parameters())
    groups = {
        "st": shared_s + shared_t + list(s2t.parameters()) + list(t2s.parameters()),
        "si": shared_s + list(s2i.parameters()) + list(i2s.parameters()),
        "ti": shared_t + list(t2i.parameters()) + list(i2t.parameters()),
    }
    opts = {k: torch.optim.Adam(v, lr=2e-4) for k, v in groups.items()}
    mfcc = (torch.rand(B, MFCC, FRAMES) * 2 - 1).to(DEV)
    chars = torch.randint(0, VOCAB, (CHARS, B)).to(DEV)
    images = torch.rand(B, IMAGE).to(DEV)

    def S():
        y, _ = speech(conv(mfcc).permute(2, 0, 1))
        return y

    def T():
        y, _ = text(embed(chars))
        return y

    tasks = {
        "st": lambda: contrastive(s2t(S()), t2s(T())),
        "si": lambda: contrastive(s2i(S()), nn.functional.normalize(i2s(images), dim=1)),
        "ti": lambda: contrastive(t2i(T()), nn.functional.normalize(i2t(images), dim=1)),
    }

    def one_round():
        for name in ("st", "si", "ti"):
            opts[name].zero_grad()
            loss = tasks[name]()
            loss.backward()
            nn.utils.clip_grad_norm_(groups[name], 2.0)
            opts[name].step()
        if DEV.type == "cuda":
            torch.cuda.synchronize()

    one_round()  # warm-up
    times, cpu = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        one_round()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    times.sort()
    cpu.sort()
    print("H %d torch %.4f s/round (median of %d, min %.4f; CPU time %.4f s/round; threads %d)"
          % (H, times[len(times) // 2], rounds, times[0], cpu[len(cpu) // 2], torch.get_num_threads()))


if __name__ == "__main__":
    main()
