"""PyTorch anchor for `nx run bench:perf`: the same DAMPL step and ViT-B/16 feature extraction as
packages/bench/src/perf/dampl-step.ts, written the way DAPL's released trainer runs them
(trainers/dapl.py: CLIP's text transformer on the full context length, CSC prompts
[SOS][16 class-specific ctx][16 domain ctx][class tokens][.][EOT], frozen CLIP weights), so
that the two are timed side by side on one machine.

    python3 torch_step.py SPEC.json           ->  one JSON object on stdout
    python3 torch_step.py SPEC.json --serve   ->  the same object's header on stdout's first line,
        then one timing per request line on stdin (see `serve`): the CPU perf suite interleaves
        these with the project's own repeats

SPEC (written by the TypeScript side): threads, steps, image_iterations, image_batch,
context_lengths, classes, domains, n_ctx, n_dctx, batch_source, batch_target, eot (position of
EOT in each prompt, domain-major), width, layers, heads, embed_dim, vision {...}; for the GPU kit
(packages/bench/src/perf/gpu.ts) also device ("cpu", "cuda" or "auto"), precisions ("fp32",
"bf16", "fp16": the last two under torch.autocast, fp16 with a GradScaler) and image_batches.
Weights are random (seeded): speed does not depend on their values. On CUDA every timing ends
with torch.cuda.synchronize().
"""
import contextlib
import json
import os
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    """CLIP's ResidualAttentionBlock (sequence-first, as in OpenAI's model.py)."""

    def __init__(self, width, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, width * 4), QuickGELU(), nn.Linear(width * 4, width))
        self.ln_2 = nn.LayerNorm(width)
        self.mask = mask

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.mask)[0]
        return x + self.mlp(self.ln_2(x))


def causal_mask(n):
    return torch.empty(n, n).fill_(float("-inf")).triu_(1)


class TextTower(nn.Module):
    def __init__(self, L, width, layers, heads, embed_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(L, width) * 0.01)
        self.blocks = nn.Sequential(*[Block(width, heads, causal_mask(L)) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.randn(width, embed_dim) * width ** -0.5)

    def forward(self, prompts, eot):
        x = prompts + self.positional_embedding
        x = self.blocks(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), eot] @ self.text_projection


class VisionTower(nn.Module):
    def __init__(self, image_size, patch, width, layers, heads, embed_dim):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        n = (image_size // patch) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn(n, width) * width ** -0.5)
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.Sequential(*[Block(width, heads) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed_dim) * width ** -0.5)

    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], 1) + self.positional_embedding
        x = self.blocks(self.ln_pre(x).permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0]) @ self.proj


def im_loss(p, eps=1e-5):
    ent = -(p * torch.log(p + eps)).sum(1).mean()
    m = p.mean(0)
    return ent + (m * torch.log(m + eps)).sum()


DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device, precision):
    """fp32 as it is; bf16 and fp16 under torch.autocast (mixed precision, as AMP runs)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_step(spec, L, device=torch.device("cpu"), precision="fp32"):
    """The DAMPL step on a text tower of context L, as a function, after one untimed warm-up step."""
    K, D, M, N, W = spec["classes"], spec["domains"], spec["n_ctx"], spec["n_dctx"], spec["width"]
    P = D * K
    tower = TextTower(L, W, spec["layers"], spec["heads"], spec["embed_dim"])
    for p in tower.parameters():
        p.requires_grad_(False)
    for b in tower.blocks:
        b.mask = b.mask.to(device)
    tower = tower.to(device)
    eot = torch.tensor(spec["eot"], device=device)
    prefix = torch.randn(P, 1, W, device=device) * 0.02  # token embeddings of SOS, class words, '.', EOT, padding
    suffix = torch.randn(P, L - 1 - M - N, W, device=device) * 0.02
    ctx = nn.Parameter(torch.randn(K, M, W, device=device) * 0.02)  # CSC
    dctx = nn.Parameter(torch.randn(D, N, W, device=device) * 0.02)
    opt = torch.optim.SGD([ctx, dctx], lr=3e-3, momentum=0.9, weight_decay=5e-4)
    scaler = torch.cuda.amp.GradScaler() if precision == "fp16" else None
    bs, bt, E = spec["batch_source"], spec["batch_target"], spec["embed_dim"]
    xs = F.normalize(torch.randn(bs, E, device=device), dim=1)
    ys = torch.arange(bs, device=device) % K
    xt = F.normalize(torch.randn(bt, E, device=device), dim=1)

    def step():
        with autocast(device, precision):
            prompts = torch.cat([
                prefix,
                ctx.unsqueeze(0).expand(D, -1, -1, -1).reshape(P, M, W),
                dctx.unsqueeze(1).expand(-1, K, -1, -1).reshape(P, N, W),
                suffix,
            ], 1)
            w = F.normalize(tower(prompts, eot), dim=1)
            logits_s = 100.0 * xs @ w[:K].t()
            logits_t = 100.0 * xt @ w[K:].t()
            prob = logits_t.softmax(1)
            conf, yhat = prob.detach().max(1)
            keep = (conf >= 0.5).float()
            tgt = (F.cross_entropy(logits_t, yhat, reduction="none") * keep).sum() / keep.sum().clamp(min=1)
            loss = F.cross_entropy(logits_s, ys) + tgt + im_loss(prob)
        opt.zero_grad()
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    step()  # warm-up
    synchronize(device)
    return step


def make_images(spec, batch=None, device=torch.device("cpu"), precision="fp32"):
    """The image tower on one batch of `batch` images, as a function, after one untimed warm-up."""
    v = spec["vision"]
    tower = VisionTower(v["image_size"], v["patch_size"], v["width"], v["layers"], v["heads"], spec["embed_dim"]).eval().to(device)
    x = torch.randn(batch or spec["image_batch"], 3, v["image_size"], v["image_size"], device=device)

    def run():
        with torch.no_grad(), autocast(device, precision):
            tower(x)

    run()
    synchronize(device)
    return run


def timed(fn, count, device=torch.device("cpu")):
    times = []
    for _ in range(count):
        t = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t)
    return times


def time_step(spec, L, device=torch.device("cpu"), precision="fp32"):
    return timed(make_step(spec, L, device, precision), spec["steps"], device)


def time_images(spec, batch=None, device=torch.device("cpu"), precision="fp32"):
    return timed(make_images(spec, batch, device, precision), spec["image_iterations"], device)


def serve(spec):
    """--serve: the CPU perf suite's interleaved repeats. One JSON request per stdin line,
    {"kind": "step", "length": L, "count": n} or {"kind": "images", "batch": b, "count": n}, one
    JSON answer per stdout line, {"times": [...]}; each model is built and warmed up once."""
    made = {}
    for line in sys.stdin:
        req = json.loads(line)
        key = (req["kind"], req.get("length"), req.get("batch"))
        if key not in made:
            made[key] = make_step(spec, req["length"]) if req["kind"] == "step" else make_images(spec, req["batch"])
        print(json.dumps({"times": timed(made[key], req.get("count", 1))}), flush=True)



def main():
    spec = json.load(open(sys.argv[1]))
    torch.manual_seed(0)
    torch.set_num_threads(spec["threads"])
    want = spec.get("device", "cpu")
    device = torch.device("cuda" if want == "cuda" or (want == "auto" and torch.cuda.is_available()) else "cpu")
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": next((m.group(0) for m in [re.search(r"BLAS_INFO=[^,\s]+", torch.__config__.show())] if m), ""),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cuda": torch.version.cuda,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "openblas_thread_timeout": os.environ.get("OPENBLAS_THREAD_TIMEOUT", "unset"),
        "steps": {},
    }
    if "--serve" in sys.argv:
        print(json.dumps(out), flush=True)
        serve(spec)
        return
    if "precisions" not in spec:  # the CPU perf suite: fp32, one image batch
        for L in spec["context_lengths"]:
            out["steps"][str(L)] = time_step(spec, L)
        out["images"] = time_images(spec)
    else:
        out["runs"] = []
        for precision in spec["precisions"]:
            if precision != "fp32" and device.type != "cuda":
                continue  # autocast timings are for the GPU
            for L in spec["context_lengths"]:
                out["runs"].append({"kind": "step", "precision": precision, "length": L, "times": time_step(spec, L, device, precision)})
            for b in spec.get("image_batches", [spec["image_batch"]]):
                out["runs"].append({"kind": "images", "precision": precision, "batch": b, "times": time_images(spec, b, device, precision)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
