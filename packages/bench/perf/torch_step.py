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


def conv_bn(cin, cout, k):
    return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout)]


class Bottleneck(nn.Module):
    """CLIP's ModifiedResNet Bottleneck: 1x1, 3x3, then an average pool of the stride before the
    last 1x1 (x4 channels); the shortcut pools and projects when the shape changes."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn(inplanes, planes, 1), nn.ReLU(inplace=True), *conv_bn(planes, planes, 3), nn.ReLU(inplace=True),
            nn.AvgPool2d(stride) if stride > 1 else nn.Identity(), *conv_bn(planes, planes * 4, 1))
        self.down = None
        if stride > 1 or inplanes != planes * 4:
            self.down = nn.Sequential(nn.AvgPool2d(stride) if stride > 1 else nn.Identity(), *conv_bn(inplanes, planes * 4, 1))

    def forward(self, x):
        return F.relu(self.body(x) + (self.down(x) if self.down is not None else x))


class ResNetTower(nn.Module):
    """CLIP's ModifiedResNet: a 3-convolution stem (the first with stride 2) and a 2x2 average pool,
    four stages of Bottlenecks, and the attention pool of the mean token over the grid."""

    def __init__(self, image_size, width, layers, heads, embed_dim):
        super().__init__()
        w2 = width // 2
        stem = [nn.Conv2d(3, w2, 3, 2, 1, bias=False), nn.BatchNorm2d(w2), nn.ReLU(inplace=True),
                *conv_bn(w2, w2, 3), nn.ReLU(inplace=True), *conv_bn(w2, width, 3), nn.ReLU(inplace=True), nn.AvgPool2d(2)]
        blocks, inplanes = [], width
        for stage, n in enumerate(layers):
            planes = width * 2 ** stage
            for i in range(n):
                blocks.append(Bottleneck(inplanes, planes, 2 if i == 0 and stage > 0 else 1))
                inplanes = planes * 4
        self.features = nn.Sequential(*stem, *blocks)
        self.positional_embedding = nn.Parameter(torch.randn((image_size // 32) ** 2 + 1, inplanes) * inplanes ** -0.5)
        self.q, self.k, self.v = (nn.Linear(inplanes, inplanes) for _ in range(3))
        self.c = nn.Linear(inplanes, embed_dim)
        self.heads = heads

    def forward(self, x):
        x = self.features(x).flatten(2).permute(2, 0, 1)  # [HW, N, C]
        x = torch.cat([x.mean(0, keepdim=True), x]) + self.positional_embedding[:, None]
        return F.multi_head_attention_forward(
            query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.heads,
            q_proj_weight=self.q.weight, k_proj_weight=self.k.weight, v_proj_weight=self.v.weight, in_proj_weight=None,
            in_proj_bias=torch.cat([self.q.bias, self.k.bias, self.v.bias]), bias_k=None, bias_v=None, add_zero_attn=False,
            dropout_p=0.0, out_proj_weight=self.c.weight, out_proj_bias=self.c.bias, use_separate_proj_weight=True,
            training=False, need_weights=False)[0][0]


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


def make_images(spec, batch=None, device=torch.device("cpu"), precision="fp32", tower="vit"):
    """The image tower (spec's "vision", or with tower "resnet" spec's "resnet") on one batch of
    `batch` images, as a function, after one untimed warm-up."""
    if tower == "resnet":
        v = spec["resnet"]
        model = ResNetTower(v["image_size"], v["width"], v["layers"], v["heads"], v["embed_dim"])
    else:
        v = spec["vision"]
        model = VisionTower(v["image_size"], v["patch_size"], v["width"], v["layers"], v["heads"], spec["embed_dim"])
    tower = model.eval().to(device)
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
    {"kind": "step", "length": L, "count": n} or {"kind": "images", "batch": b, "tower": "vit" or
    "resnet", "count": n}, one
    JSON answer per stdout line, {"times": [...]}; each model is built and warmed up once."""
    made = {}
    for line in sys.stdin:
        req = json.loads(line)
        key = (req["kind"], req.get("length"), req.get("batch"), req.get("tower", "vit"))
        if key not in made:
            made[key] = make_step(spec, req["length"]) if req["kind"] == "step" else make_images(spec, req["batch"], tower=key[3])
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
