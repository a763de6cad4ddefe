"""vgmo.fit - asking the daemon before a batch runs (docs/clients.md).

A request is a dict with the protocol's keys::

    {"images": [(1700, 2200)],      # sizes in pixels, or a count
     "image_tokens": 2860,          # optional with sizes and a model preset
     "text_tokens": 120,
     "output_tokens": 512}          # max_new_tokens

``images`` may also hold objects with a ``size`` attribute of
``(width, height)`` (PIL images). ``Client.fit`` answers for one request,
``Client.plan`` for the head of a queue; both return usable answers while
the daemon is away ("not judged": run what the batch size allows).
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence

__all__ = ["Fit", "Plan", "request_shape"]

_KEYS = ("images", "image_tokens", "text_tokens", "output_tokens")
_MAX_TOKENS = 1_000_000_000


def _count(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 0 <= value <= _MAX_TOKENS:
        raise ValueError("%s must be an integer in [0, %d], got %r" %
                         (key, _MAX_TOKENS, value))
    return value


def _size(image: Any) -> List[int]:
    size = getattr(image, "size", image)
    try:
        w, h = size
        w, h = int(w), int(h)
    except (TypeError, ValueError):
        raise ValueError("an image must be (width, height) or have a "
                         ".size of it, got %r" % (image,)) from None
    if w < 1 or h < 1:
        raise ValueError("an image needs width and height >= 1, got "
                         "%dx%d" % (w, h))
    return [w, h]


def request_shape(request: Mapping[str, Any]) -> Dict[str, Any]:
    """The protocol's JSON for one request (raises ValueError naming the
    key that is wrong)."""
    if not isinstance(request, Mapping):
        raise ValueError("a request is a dict with keys %s, got %r" %
                         (", ".join(_KEYS), request))
    unknown = sorted(set(request) - set(_KEYS))
    if unknown:
        raise ValueError("unknown request key %r (keys: %s)" %
                         (unknown[0], ", ".join(_KEYS)))
    out: Dict[str, Any] = {}
    images = request.get("images")
    if images is not None:
        if isinstance(images, int) and not isinstance(images, bool):
            out["images"] = _count("images", images)
        else:
            out["images"] = [_size(i) for i in images]
    for key in _KEYS[1:]:
        if request.get(key) is not None:
            out[key] = _count(key, request[key])
    if not out.get("image_tokens") and not out.get("text_tokens") and \
            not (isinstance(out.get("images"), list) and out["images"]):
        raise ValueError("a request needs image sizes, image_tokens or "
                         "text_tokens")
    return out


class Fit:
    """The daemon's answer for one request.

    ``verdict``: ``"fits"``, ``"not_now"`` (it would with the GPU's other
    memory free, or it is in doubt: it fits a little above the model's
    best guess but not with the strategy's margin; wait, shrink or split
    it), ``"never"`` (not even
    alone on the GPU: downscale or split) or ``"unknown"`` (the daemon did
    not answer).
    ``fits``: run it. ``max_pixels``: pixels per image that would fit
    (None: unknown), ``max_prompt_tokens`` / ``max_image_tokens`` the same
    in tokens; ``need_bytes`` / ``room_bytes`` what vgmo predicts and has;
    ``reason``: one line for a log.
    """

    __slots__ = ("verdict", "need_bytes", "room_bytes", "max_prompt_tokens",
                 "max_image_tokens", "max_pixels", "reason")

    def __init__(self, ans: Optional[Mapping[str, Any]] = None,
                 reason: str = ""):
        ans = ans or {}
        self.verdict: str = ans.get("verdict", "unknown")
        self.need_bytes: Optional[int] = ans.get("need_bytes")
        self.room_bytes: Optional[int] = ans.get("room_bytes")
        self.max_prompt_tokens: Optional[int] = ans.get("max_prompt_tokens")
        self.max_image_tokens: Optional[int] = ans.get("max_image_tokens")
        self.max_pixels: Optional[int] = ans.get("max_pixels")
        self.reason: str = ans.get("reason", reason)

    @property
    def fits(self) -> bool:
        return self.verdict in ("fits", "unknown")

    def __repr__(self) -> str:
        return "<vgmo.Fit %s: %s>" % (self.verdict, self.reason)


class Plan:
    """The daemon's answer for the head of a queue: run ``take`` requests
    from the head (0: the head cannot run now; ``head`` says why)."""

    __slots__ = ("take", "need_bytes", "room_bytes", "cleanup", "head")

    def __init__(self, ans: Optional[Mapping[str, Any]] = None,
                 take: int = 0, reason: str = ""):
        ans = ans or {}
        self.take: int = int(ans.get("take", take))
        self.need_bytes: Optional[int] = ans.get("need_bytes")
        self.room_bytes: Optional[int] = ans.get("room_bytes")
        self.cleanup: bool = bool(ans.get("cleanup", False))
        self.head = Fit(ans.get("head"), reason)

    def __repr__(self) -> str:
        return "<vgmo.Plan take %d; head %s>" % (self.take, self.head.verdict)


def shapes(requests: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """request_shape of each; a non-empty list."""
    if isinstance(requests, Mapping) or not len(requests):
        raise ValueError("requests must be a non-empty list of requests")
    return [request_shape(r) for r in requests]
