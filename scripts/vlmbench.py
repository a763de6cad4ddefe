"""vlmbench.py - what scripts/vlm-measure.py and scripts/vlm-loop.py share.

* MODELS: vision-language models described by their public config.json
  facts (no download: the config objects are built in code and the models
  get random weights), with how their processors turn an image into tokens.
* Image sizes, and the processors' token rules (Qwen2-VL's smart_resize,
  Idefics3's longest-edge resize and 384 px tiles, LLaVA-1.5's fixed 576).
* Building a batch the way each processor shapes it (input_ids with the
  right count of image tokens, padded to the longest request, the pixel
  tensors), building a model in bf16 on the GPU, reading GPU memory.

Only the functions that need them import torch and transformers, so the
dry runs work on a machine without either.
"""

import copy
import math
import os
import re
import threading
import time

GIB = 1 << 30

# --------------------------------------------------------------- images

#: label -> (width, height) in pixels. A4 is 210 x 297 mm = 8.27 x 11.69 in.
IMAGES = {
    "448sq": (448, 448),
    "768sq": (768, 768),
    "1024sq": (1024, 1024),
    "1536sq": (1536, 1536),
    "2048sq": (2048, 2048),
    "a4-150dpi": (1240, 1754),
    "a4-200dpi": (1654, 2339),
}


def qwen_resize(width, height, factor=28, min_pixels=3136,
                max_pixels=12845056):
    """Qwen2-VL's smart_resize: (width, height) after resizing. Python's
    round() is half to even, as the processor's."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return w_bar, h_bar


def idefics3_grid(width, height, longest_edge=1536, tile=384):
    """Idefics3's image processor (SmolVLM's settings): the longest edge
    scaled to `longest_edge` (up or down, the other side rounded up to an
    even size), both sides then rounded up to a multiple of `tile`, cut
    into tiles, plus one global image when there is more than one tile.
    Returns (rows, cols, sub-images)."""
    aspect = width / height
    if width >= height:
        width = longest_edge
        height = int(width / aspect)
        height += height % 2
    else:
        height = longest_edge
        width = int(height * aspect)
        width += width % 2
    width, height = max(width, 1), max(height, 1)
    aspect = width / height
    if width >= height:
        width = math.ceil(width / tile) * tile
        height = math.ceil(int(width / aspect) / tile) * tile
    else:
        height = math.ceil(height / tile) * tile
        width = math.ceil(int(height * aspect) / tile) * tile
    rows, cols = max(1, height // tile), max(1, width // tile)
    subs = rows * cols + (1 if rows * cols > 1 else 0)
    return rows, cols, subs


# --------------------------------------------------------------- models

# Public config.json facts, as the files on the Hugging Face Hub hold them
# (the fields that shape the model; tokenizer-only fields left out).
_QWEN2_VL_COMMON = {
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "vision_token_id": 151654,
    "image_token_id": 151655,
    "video_token_id": 151656,
    "hidden_act": "silu",
    "initializer_range": 0.02,
    "max_position_embeddings": 32768,
    "max_window_layers": 28,
    "model_type": "qwen2_vl",
    "num_hidden_layers": 28,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 32768,
    "torch_dtype": "bfloat16",
    "use_cache": True,
    "use_sliding_window": False,
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
}

QWEN2_VL_2B = dict(
    _QWEN2_VL_COMMON, hidden_size=1536, intermediate_size=8960,
    num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
    tie_word_embeddings=True,
    vision_config={"depth": 32, "embed_dim": 1280, "mlp_ratio": 4,
                   "num_heads": 16, "in_chans": 3, "hidden_size": 1536,
                   "patch_size": 14, "spatial_merge_size": 2,
                   "spatial_patch_size": 14, "temporal_patch_size": 2})

QWEN2_VL_7B = dict(
    _QWEN2_VL_COMMON, hidden_size=3584, intermediate_size=18944,
    num_attention_heads=28, num_key_value_heads=4, vocab_size=152064,
    tie_word_embeddings=False,
    vision_config={"depth": 32, "embed_dim": 1280, "mlp_ratio": 4,
                   "num_heads": 16, "in_chans": 3, "hidden_size": 3584,
                   "patch_size": 14, "spatial_merge_size": 2,
                   "spatial_patch_size": 14, "temporal_patch_size": 2})

QWEN2_5_VL_7B = dict(
    _QWEN2_VL_COMMON, model_type="qwen2_5_vl", hidden_size=3584,
    intermediate_size=18944, num_attention_heads=28, num_key_value_heads=4,
    vocab_size=152064, max_position_embeddings=128000,
    tie_word_embeddings=False,
    vision_config={"depth": 32, "hidden_act": "silu", "hidden_size": 1280,
                   "intermediate_size": 3420, "num_heads": 16,
                   "in_chans": 3, "out_hidden_size": 3584, "patch_size": 14,
                   "spatial_merge_size": 2, "spatial_patch_size": 14,
                   "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31],
                   "tokens_per_second": 2, "temporal_patch_size": 2})

# HuggingFaceTB/SmolVLM-Instruct (Idefics3 with SmolLM2-1.7B and SigLIP).
SMOLVLM = {
    "model_type": "idefics3",
    "image_token_id": 49153,
    "scale_factor": 3,
    "tie_word_embeddings": False,
    "use_cache": True,
    "torch_dtype": "bfloat16",
    "vocab_size": 49155,
    "text_config": {
        "model_type": "llama", "head_dim": 64, "hidden_size": 2048,
        "intermediate_size": 8192, "max_position_embeddings": 16384,
        "num_attention_heads": 32, "num_hidden_layers": 24,
        "num_key_value_heads": 32, "pad_token_id": 2, "rms_norm_eps": 1e-05,
        "rope_theta": 273768.0, "vocab_size": 49155,
        "tie_word_embeddings": False},
    "vision_config": {
        "model_type": "idefics3", "hidden_size": 1152, "image_size": 384,
        "intermediate_size": 4304, "num_attention_heads": 16,
        "num_hidden_layers": 27, "patch_size": 14},
}

# llava-hf/llava-1.5-7b-hf (Vicuna-7B v1.5: Llama defaults, 4096 / 11008 /
# 32 layers / 32 heads; CLIP ViT-L/14 at 336 px).
LLAVA_1_5_7B = {
    "model_type": "llava",
    "image_token_index": 32000,
    "pad_token_id": 32001,
    "projector_hidden_act": "gelu",
    "vision_feature_layer": -2,
    "vision_feature_select_strategy": "default",
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "text_config": {"model_type": "llama", "max_position_embeddings": 4096,
                    "rms_norm_eps": 1e-05, "vocab_size": 32064},
    "vision_config": {"model_type": "clip_vision_model", "hidden_size": 1024,
                      "image_size": 336, "intermediate_size": 4096,
                      "num_attention_heads": 16, "num_hidden_layers": 24,
                      "patch_size": 14, "projection_dim": 768,
                      "vocab_size": 32000},
}


class Spec:
    """One model: how to build it and how its processor shapes inputs.

    `rule`: "pixels" (Qwen2-VL), "tiles" (Idefics3) or "fixed" (LLaVA).
    The last fields are rough guesses of an H100's speed and of memory,
    used only to plan and budget the grid (measured times correct them as
    the run goes)."""

    def __init__(self, name, arch, config_class, source, config, rule,
                 image_token, pad, params, kv_token, act_token,
                 vision_patch_bytes, prefill_tps, vision_pps, step_s,
                 build_s, vision_start=None, vision_end=None):
        self.name = name
        self.arch = arch
        self.config_class = config_class
        self.source = source
        self.config = config
        self.rule = rule
        self.image_token = image_token
        self.pad = pad
        self.params = params
        self.kv_token = kv_token
        self.act_token = act_token
        self.vision_patch_bytes = vision_patch_bytes
        self.prefill_tps = prefill_tps
        self.vision_pps = vision_pps
        self.step_s = step_s
        self.build_s = build_s
        self.vision_start = vision_start
        self.vision_end = vision_end

    # Tokens, patches and pixel tensors of one image.
    def image(self, width, height):
        """(tokens, vision patches, shape info) for one image."""
        if self.rule == "pixels":
            w, h = qwen_resize(width, height)
            gh, gw = h // 14, w // 14
            return gh * gw // 4, gh * gw, (gh, gw)
        if self.rule == "tiles":
            _, _, subs = idefics3_grid(width, height)
            return subs * 81, subs * 729, subs
        return 576, 577, 1


def _kv(layers, kv_heads, head_dim):
    return 2 * layers * kv_heads * head_dim * 2


def _act(hidden, inter):
    return 2 * (4 * hidden + 3 * inter)


MODELS = {s.name: s for s in (
    Spec("qwen2-vl-7b", "Qwen2VLForConditionalGeneration", "Qwen2VLConfig",
         "Qwen/Qwen2-VL-7B-Instruct config.json", QWEN2_VL_7B, "pixels",
         151655, 151643, 8.29e9, _kv(28, 4, 128), _act(3584, 18944),
         _act(1280, 5120), 15000, 100000, 0.035, 25,
         vision_start=151652, vision_end=151653),
    Spec("llava-1.5-7b", "LlavaForConditionalGeneration", "LlavaConfig",
         "llava-hf/llava-1.5-7b-hf config.json", LLAVA_1_5_7B, "fixed",
         32000, 32001, 7.06e9, _kv(32, 32, 128), _act(4096, 11008),
         _act(1024, 4096), 15000, 300000, 0.035, 25),
    Spec("smolvlm-instruct", "Idefics3ForConditionalGeneration",
         "Idefics3Config", "HuggingFaceTB/SmolVLM-Instruct config.json",
         SMOLVLM, "tiles", 49153, 2, 2.25e9, _kv(24, 32, 64),
         _act(2048, 8192), _act(1152, 4304), 35000, 250000, 0.03, 10),
    Spec("qwen2-vl-2b", "Qwen2VLForConditionalGeneration", "Qwen2VLConfig",
         "Qwen/Qwen2-VL-2B-Instruct config.json", QWEN2_VL_2B, "pixels",
         151655, 151643, 2.21e9, _kv(28, 2, 128), _act(1536, 8960),
         _act(1280, 5120), 40000, 100000, 0.03, 10,
         vision_start=151652, vision_end=151653),
    Spec("qwen2.5-vl-7b", "Qwen2_5_VLForConditionalGeneration",
         "Qwen2_5_VLConfig", "Qwen/Qwen2.5-VL-7B-Instruct config.json",
         QWEN2_5_VL_7B, "pixels", 151655, 151643, 8.29e9, _kv(28, 4, 128),
         _act(3584, 18944), _act(1280, 3420), 15000, 120000, 0.035, 25,
         vision_start=151652, vision_end=151653),
)}


def text_lengths(prompt_tokens, batch):
    """Prompt text tokens of each request: from `prompt_tokens` down to 3/4
    of it, so that the batch is padded to its longest request as a
    processor pads it."""
    if batch <= 1:
        return [prompt_tokens]
    return [prompt_tokens - (prompt_tokens // 4) * i // (batch - 1)
            for i in range(batch)]


def request_ids(spec, sizes, text, rng):
    """input_ids of one request (a list): half the text, then each image's
    placeholder tokens (wrapped in <|vision_start|>/<|vision_end|> for
    Qwen2-VL), then the rest of the text. Marker tokens a chat template
    adds are counted as text."""
    head = text // 2
    ids = [rng.randrange(1000, 30000) for _ in range(head)]
    for w, h in sizes:
        n = spec.image(w, h)[0]
        if spec.vision_start is not None:
            ids.append(spec.vision_start)
        ids.extend([spec.image_token] * n)
        if spec.vision_end is not None:
            ids.append(spec.vision_end)
    ids.extend(rng.randrange(1000, 30000) for _ in range(text - head))
    return ids


def input_length(spec, sizes, text):
    """The padded sequence length of a request (what request_ids makes)."""
    n = text
    for w, h in sizes:
        n += spec.image(w, h)[0]
        n += (spec.vision_start is not None) + (spec.vision_end is not None)
    return n


def build_batch(torch, spec, requests, padding, device, rng):
    """The model's inputs for `requests`, a list of (image sizes, text
    tokens), as its processor would return them (pixel values float32),
    on `device`. Returns (kwargs, padded length)."""
    seqs = [request_ids(spec, sizes, text, rng) for sizes, text in requests]
    longest = max(len(s) for s in seqs)
    ids, mask = [], []
    for s in seqs:
        pad = [spec.pad] * (longest - len(s))
        ones, zeros = [1] * len(s), [0] * len(pad)
        ids.append(pad + s if padding == "left" else s + pad)
        mask.append(zeros + ones if padding == "left" else ones + zeros)
    kw = {"input_ids": torch.tensor(ids, dtype=torch.long, device=device),
          "attention_mask": torch.tensor(mask, dtype=torch.long,
                                         device=device)}
    images = [wh for sizes, _ in requests for wh in sizes]
    if spec.rule == "pixels":
        grids = [spec.image(w, h)[2] for w, h in images]
        patches = sum(gh * gw for gh, gw in grids)
        kw["pixel_values"] = torch.randn(patches, 3 * 2 * 14 * 14,
                                         device=device)
        kw["image_grid_thw"] = torch.tensor(
            [[1, gh, gw] for gh, gw in grids], dtype=torch.long,
            device=device)
    elif spec.rule == "tiles":
        subs = [sum(spec.image(w, h)[2] for w, h in sizes)
                for sizes, _ in requests]
        most = max(subs)
        pv = torch.randn(len(requests), most, 3, 384, 384, device=device)
        pm = torch.ones(len(requests), most, 384, 384, dtype=torch.bool,
                        device=device)
        for i, n in enumerate(subs):  # padding images are all zeros
            pv[i, n:] = 0
            pm[i, n:] = False
        kw["pixel_values"], kw["pixel_attention_mask"] = pv, pm
    else:
        kw["pixel_values"] = torch.randn(len(images), 3, 336, 336,
                                         device=device)
    return kw, longest


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v or "")[:3])


def build_model(torch, transformers, spec, attn="sdpa"):
    """(model, note): the model of `spec` with random weights, in bf16,
    built on the current CUDA device (no download), and None or what
    differs from the request (an architecture that refuses `attn` is
    built with transformers' default attention instead). The config is
    made as from_pretrained makes it (Config.from_dict of the config.json
    facts). Raises on a transformers without the architecture."""
    cls = getattr(transformers, spec.arch, None)
    cfg_cls = getattr(transformers, spec.config_class, None)
    if cls is None or cfg_cls is None:
        raise RuntimeError("transformers %s has no %s" %
                           (transformers.__version__, spec.arch))
    kw = {}
    if version_tuple(transformers.__version__) >= (4, 56):
        kw["dtype"] = torch.bfloat16
    else:
        kw["torch_dtype"] = torch.bfloat16
    note = None
    try:
        model = _build(torch, cls, cfg_cls, spec, dict(
            kw, attn_implementation=attn))
    except (ValueError, ImportError) as e:
        if "attn" not in str(e) and "attention" not in str(e).lower() \
                and attn not in str(e):
            raise
        note = "attn_implementation %r refused (%s): default used" % (
            attn, str(e)[:160])
        model = _build(torch, cls, cfg_cls, spec, kw)
    floats = {p.dtype for p in model.parameters() if p.is_floating_point()}
    if floats - {torch.bfloat16}:
        model.to(torch.bfloat16)
    model.to("cuda")  # anything built elsewhere
    return model.eval(), note


def _build(torch, cls, cfg_cls, spec, kw):
    config = cfg_cls.from_dict(copy.deepcopy(spec.config))
    with torch.device("cuda"):
        return cls._from_config(config, **kw)


def forward_kwargs(model):
    """Keyword arguments for a forward pass that keeps only the last
    position's logits, as generate's prefill does; and "last" or "all".
    Without `logits_to_keep`, see last_logits()."""
    import inspect
    try:
        names = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        names = {}
    for key in ("logits_to_keep", "num_logits_to_keep"):
        if key in names:
            return {key: 1}, "last"
    return {}, "all"


class last_logits:  # noqa: N801 - a context manager
    """For a model whose forward has no `logits_to_keep`: while in the
    block, its output head sees only the last position (what
    logits_to_keep=1 does); `self.ok` says whether that could be done."""

    def __init__(self, torch, model):
        self.model = model
        self.head = None
        self.ok = False
        try:
            head = model.get_output_embeddings()
        except (AttributeError, NotImplementedError):
            head = None
        if head is None:
            return

        class LastPosition(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, hidden):
                return self.inner(hidden[:, -1:, :])
        self.head = head
        self.wrapper = LastPosition(head)
        self.ok = True

    def __enter__(self):
        if self.ok:
            self.model.set_output_embeddings(self.wrapper)
        return self

    def __exit__(self, *exc):
        if self.ok:
            self.model.set_output_embeddings(self.head)
        return False


def cache_bytes(torch, cache):
    """Bytes of the KV cache's tensors (None when none are found)."""
    seen, total = set(), 0

    def add(t):
        nonlocal total
        if torch.is_tensor(t) and id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()

    def walk(x, depth=0):
        if depth > 4 or x is None:
            return
        if torch.is_tensor(x):
            add(x)
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y, depth + 1)
        elif hasattr(x, "layers"):  # transformers >= 4.54 caches
            for layer in x.layers:
                for key in ("keys", "values"):
                    walk(getattr(layer, key, None), depth + 1)
        elif hasattr(x, "key_cache"):
            walk(list(x.key_cache) + list(x.value_cache), depth + 1)
    walk(cache)
    return total or None


class DeviceMemory:
    """Device memory in use as the driver sees it (NVML's "used"), and its
    peak over an interval, sampled every `period` seconds on a thread.
    pynvml when installed, else cudaMemGetInfo through torch."""

    def __init__(self, torch, period=0.01):
        self.torch = torch
        self.period = period
        self.source = None
        self._nvml = self._handle = None
        try:
            import pynvml
            pynvml.nvmlInit()
            self._handle = self._find(pynvml, torch)
            self._nvml = pynvml
            self.source = "pynvml"
        except Exception:  # no pynvml or no NVML: the CUDA runtime
            self.source = "cudaMemGetInfo"
        self._stop = threading.Event()
        self._thread = None
        self.peak = None

    @staticmethod
    def _find(pynvml, torch):
        uuid = getattr(torch.cuda.get_device_properties(0), "uuid", None)
        if uuid is not None:
            try:
                text = str(uuid)
                if not text.startswith("GPU-"):
                    text = "GPU-" + text
                return pynvml.nvmlDeviceGetHandleByUUID(text.encode())
            except Exception:
                pass
        first = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0]
        index = int(first) if first.strip().isdigit() else 0
        return pynvml.nvmlDeviceGetHandleByIndex(index)

    def used(self):
        try:
            if self._nvml is not None:
                return int(self._nvml.nvmlDeviceGetMemoryInfo(
                    self._handle).used)
            free, total = self.torch.cuda.mem_get_info()
            return int(total - free)
        except Exception:
            return None

    def driver(self):
        if self._nvml is None:
            return None
        try:
            v = self._nvml.nvmlSystemGetDriverVersion()
            return v.decode() if isinstance(v, bytes) else str(v)
        except Exception:
            return None

    def _run(self):
        while not self._stop.wait(self.period):
            u = self.used()
            if u is not None and (self.peak is None or u > self.peak):
                self.peak = u

    def start(self):
        self.peak = self.used()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self):
        """The peak since start() (None when unreadable)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        u = self.used()
        if u is not None and (self.peak is None or u > self.peak):
            self.peak = u
        return self.peak


def is_oom(torch, exc):
    """True for the errors that mean the GPU ran out of memory."""
    err = getattr(torch.cuda, "OutOfMemoryError", None)
    if isinstance(err, type) and isinstance(exc, err):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "CUBLAS_STATUS_ALLOC_FAILED" in text)


def now():
    return time.monotonic()
