"""A stand-in for the transformers classes that scripts/vlmbench.py builds,
for tests without a GPU (tests/fake_ml). Synthetic: the models hold no
weights and compute nothing, but they check their inputs the way the real
ones fail on them (image tokens against the pixel tensors, padding side,
mask shapes), count their parameters from the configuration, and charge
the fake allocator (tests/fake_ml/torch) for activations and a KV cache,
so that the scripts' bookkeeping and out-of-memory paths run for real.
"""
import types

import torch

__version__ = "4.57.0+fake"

logging = types.SimpleNamespace(set_verbosity_error=lambda: None)


class StoppingCriteria:
    pass


class StoppingCriteriaList(list):
    pass


class _Config:
    def __init__(self, **kw):
        self.__dict__.update(kw)

    @classmethod
    def from_dict(cls, d, **kw):
        return cls(**dict(d, **kw))

    def get(self, key, default=None):
        return self.__dict__.get(key, default)


class Qwen2VLConfig(_Config):
    pass


class Qwen2_5_VLConfig(_Config):  # noqa: N801 - transformers' name
    pass


class Idefics3Config(_Config):
    pass


class LlavaConfig(_Config):
    pass


class _Param:
    def __init__(self, numel):
        self.t = torch.Tensor((numel,), "bfloat16")
        self.dtype = "bfloat16"

    def numel(self):
        return self.t.numel()

    def element_size(self):
        return 2

    def is_floating_point(self):
        return True


class _Cache:
    """A DynamicCache of transformers >= 4.54: .layers with keys/values."""

    def __init__(self, layers, shape):
        self.layers = [types.SimpleNamespace(keys=torch.Tensor(shape,
                                                               "bfloat16"),
                                             values=torch.Tensor(shape,
                                                                 "bfloat16"))
                       for _ in range(layers)]


class _Model:
    """Shapes come from the subclass's `text()`; inputs are checked by
    `check()`."""

    def __init__(self, config):
        self.config = config
        t = self.text()
        params = (t["layers"] * (4 * t["hidden"] ** 2 +
                                 3 * t["hidden"] * t["inter"]) +
                  2 * t["vocab"] * t["hidden"])
        self._params = [_Param(params // 4) for _ in range(4)]

    _supports_sdpa = True

    @classmethod
    def _from_config(cls, config, **kw):
        if kw.get("dtype", kw.get("torch_dtype")) != torch.bfloat16:
            raise TypeError("not bf16")
        if kw.get("attn_implementation") == "sdpa" and \
                not cls._supports_sdpa:
            raise ValueError("%s does not support an attention "
                             "implementation through torch.nn.functional."
                             "scaled_dot_product_attention yet" %
                             cls.__name__)
        return cls(config)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def parameters(self):
        return iter(self._params)

    def eval(self):
        return self

    def to(self, dtype):
        return self

    # -- shapes
    def kv_token(self):
        t = self.text()
        return 2 * t["layers"] * t["kv"] * t["head_dim"] * 2

    def act_token(self):
        t = self.text()
        return 2 * (4 * t["hidden"] + 3 * t["inter"]) * 3

    # -- checks common to all
    def _check_mask(self, input_ids, attention_mask, side):
        if attention_mask.shape != input_ids.shape:
            raise ValueError("attention_mask %s vs input_ids %s" %
                             (attention_mask.shape, input_ids.shape))
        for row in attention_mask.data:
            want = sorted(row) if side == "left" else sorted(row,
                                                             reverse=True)
            if row != want:
                raise ValueError("padding is not on the %s" % side)

    def _run(self, input_ids, attention_mask, side, new, **kw):
        self._check_mask(input_ids, attention_mask, side)
        self.check(input_ids, **kw)
        b, n = input_ids.shape
        a = torch.cuda.allocator
        a.touch(a.allocated + b * n * self.act_token())
        return b, n

    def forward(self, input_ids=None, attention_mask=None, use_cache=True,
                logits_to_keep=0, **kw):
        if use_cache:
            raise AssertionError("forward mode must not keep a cache")
        b, n = self._run(input_ids, attention_mask, "right", 0, **kw)
        keep = logits_to_keep or n
        return types.SimpleNamespace(
            logits=torch.Tensor((b, keep, self.text()["vocab"]), "float32"))

    def generate(self, input_ids=None, attention_mask=None,
                 max_new_tokens=20, min_new_tokens=0, do_sample=True,
                 num_beams=1, use_cache=True, return_dict_in_generate=False,
                 pad_token_id=None, stopping_criteria=None, **kw):
        if do_sample or num_beams != 1 or min_new_tokens != max_new_tokens:
            raise AssertionError("greedy, fixed length expected")
        b, n = self._run(input_ids, attention_mask, "left", max_new_tokens,
                         **kw)
        t = self.text()
        cache = _Cache(t["layers"], (b, t["kv"], n + max_new_tokens - 1,
                                     t["head_dim"]))
        seq = torch.tensor([[0] * (n + max_new_tokens)] * b)
        for _ in range(max_new_tokens):
            for c in stopping_criteria or []:
                c(seq, None)
        if not return_dict_in_generate:
            return seq
        return types.SimpleNamespace(sequences=seq, past_key_values=cache)


def _count(row, token):
    return sum(1 for x in row if x == token)


class Qwen2VLForConditionalGeneration(_Model):
    def text(self):
        c = self.config
        return {"layers": c.num_hidden_layers, "hidden": c.hidden_size,
                "inter": c.intermediate_size,
                "kv": c.num_key_value_heads,
                "head_dim": c.hidden_size // c.num_attention_heads,
                "vocab": c.vocab_size}

    def check(self, input_ids, pixel_values=None, image_grid_thw=None):
        grids = image_grid_thw.data
        patches = sum(t * h * w for t, h, w in grids)
        if pixel_values.shape != (patches, 1176):
            raise ValueError("pixel_values %s for %d patches" %
                             (pixel_values.shape, patches))
        tokens = sum(_count(r, self.config.image_token_id)
                     for r in input_ids.data)
        if tokens != patches // 4:
            raise ValueError("Image features and image tokens do not "
                             "match: tokens: %d, features %d" %
                             (tokens, patches // 4))
        starts = sum(_count(r, self.config.vision_start_token_id)
                     for r in input_ids.data)
        if starts != len(grids):
            raise ValueError("%d vision starts for %d images" %
                             (starts, len(grids)))
        torch.cuda.allocator.touch(torch.cuda.allocator.allocated +
                                   patches * 1280 * 2 * 12)


class Qwen2_5_VLForConditionalGeneration(Qwen2VLForConditionalGeneration):
    pass


class Idefics3ForConditionalGeneration(_Model):
    _supports_sdpa = False  # as in older transformers: built with eager

    def text(self):
        t = self.config.text_config
        return {"layers": t["num_hidden_layers"], "hidden": t["hidden_size"],
                "inter": t["intermediate_size"],
                "kv": t["num_key_value_heads"], "head_dim": t["head_dim"],
                "vocab": t["vocab_size"]}

    def check(self, input_ids, pixel_values=None, pixel_attention_mask=None):
        b, n = pixel_values.shape[:2]
        if pixel_values.shape[2:] != (3, 384, 384):
            raise ValueError("pixel_values %s" % (pixel_values.shape,))
        if pixel_attention_mask.shape != (b, n, 384, 384) or \
                pixel_attention_mask.dtype != "bool":
            raise ValueError("pixel_attention_mask %s" %
                             (pixel_attention_mask.shape,))
        if pixel_values.zeroed != pixel_attention_mask.zeroed:
            raise ValueError("padding images and mask differ")
        for i, row in enumerate(input_ids.data):
            real = pixel_values.zeroed.get(i, n)
            if _count(row, self.config.image_token_id) != real * 81:
                raise ValueError("row %d: %d image tokens for %d images" %
                                 (i, _count(row, self.config.image_token_id),
                                  real))


class _Head:
    """An output head: logits for every position it is given."""

    def __init__(self, vocab):
        self.vocab = vocab

    def __call__(self, hidden):
        return torch.Tensor((hidden.shape[0], hidden.shape[1], self.vocab),
                            "float32")


class LlavaForConditionalGeneration(_Model):
    """As in transformers versions whose forward has no logits_to_keep:
    the output head sees every position unless it is swapped."""

    def __init__(self, config):
        super().__init__(config)
        self.lm_head = _Head(self.text()["vocab"])

    def get_output_embeddings(self):
        return self.lm_head

    def set_output_embeddings(self, head):
        self.lm_head = head

    def forward(self, input_ids=None, attention_mask=None, use_cache=True,
                **kw):
        if use_cache:
            raise AssertionError("forward mode must not keep a cache")
        b, n = self._run(input_ids, attention_mask, "right", 0, **kw)
        hidden = torch.Tensor((b, n, 4096), "bfloat16")
        return types.SimpleNamespace(logits=self.lm_head(hidden))

    def text(self):
        t = self.config.text_config
        return {"layers": 32, "hidden": 4096, "inter": 11008, "kv": 32,
                "head_dim": 128, "vocab": t["vocab_size"]}

    def check(self, input_ids, pixel_values=None):
        if pixel_values.shape[1:] != (3, 336, 336):
            raise ValueError("pixel_values %s" % (pixel_values.shape,))
        tokens = sum(_count(r, self.config.image_token_index)
                     for r in input_ids.data)
        if tokens != pixel_values.shape[0] * 576:
            raise ValueError("Image features and image tokens do not "
                             "match: tokens: %d, features %d" %
                             (tokens, pixel_values.shape[0] * 576))
