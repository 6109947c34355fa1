"""Where the local price override comes from: BIFROST_PRICING_FILE, or `framework.pricing.pricing_url`.

Bifrost downloads its price sheet from `pricing_url` and re-syncs it every `pricing_sync_interval`
seconds. This gateway fetches nothing at run time: a `file://` URL (or a plain path) is read once
at start as an override file; an http(s) URL is not fetched, a warning says so, and the shipped
catalog is used (Bifrost's own default datasheet URL, which its Helm chart sets, only gets a notice).
BIFROST_PRICING_FILE, when set, wins over the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

ENV = "BIFROST_PRICING_FILE"
# Bifrost's default (its Helm chart sets it): nothing the user chose, so no warning, only a notice.
BIFROST_DEFAULT_URL = "https://getbifrost.ai/datasheet"


def override_path(environ: Mapping[str, str], pricing_url: str | None,
                  base_dir: Path | None = None) -> tuple[Path | None, list[str]]:
    """(the override file to load or None, warnings to log). Relative paths are under `base_dir`."""
    raw = environ.get(ENV, "").strip()
    if raw:
        return _rooted(Path(raw).expanduser(), base_dir), []
    if not pricing_url:
        return None, []
    u = urlsplit(pricing_url)
    if pricing_url.rstrip("/") == BIFROST_DEFAULT_URL:
        return None, []
    if u.scheme in ("http", "https"):
        return None, [f"framework.pricing.pricing_url: {pricing_url} is not fetched (this gateway makes no "
                      "network calls for prices); using the pricing catalog shipped with the package. To use "
                      f"your own prices, save the file locally and set {ENV} or pricing_url to file:///path"]
    if u.scheme == "file":
        return _rooted(Path(unquote(u.path)), base_dir), []
    if u.scheme == "" or len(u.scheme) == 1:  # a plain path (or a Windows drive letter)
        return _rooted(Path(pricing_url).expanduser(), base_dir), []
    return None, [f"framework.pricing.pricing_url: unsupported scheme {u.scheme!r} in {pricing_url}; "
                  f"using the shipped pricing catalog. Use a file:/// URL or set {ENV}"]


def _rooted(p: Path, base_dir: Path | None) -> Path:
    return p if p.is_absolute() or base_dir is None else base_dir / p
