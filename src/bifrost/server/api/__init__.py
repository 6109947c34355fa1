"""Bifrost's management API under /api: each module exposes ROUTES {(method, path): handler}."""
