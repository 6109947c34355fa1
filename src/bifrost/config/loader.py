"""Load and validate `config.json` (Bifrost's format) into a `GatewayConfig`.

Validation collects every problem, one line each (`JSON path: expected X, found Y`), so a user
fixes the file in one pass; `serve` refuses to start when there is any. Keys Bifrost knows but
this version does not implement are noted and ignored; keys nobody knows are warned about.
`env.VAR` strings are resolved here; an unset variable is reported with its JSON path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from bifrost.config import known
from bifrost.config.model import (
    DEFAULT_AZURE_API_VERSION,
    AzureKeyConfig,
    BedrockKeyConfig,
    ClientConfig,
    CustomProviderConfig,
    GatewayConfig,
    Key,
    NetworkConfig,
    ProviderConfig,
    QueueConfig,
    VertexKeyConfig,
)


class ConfigInvalid(Exception):
    """config.json cannot be used; `problems` holds one line per problem."""

    def __init__(self, path: str, problems: list[str], warnings: list[str] | None = None) -> None:
        super().__init__(f"{path}: {len(problems)} problem(s)")
        self.path = path
        self.problems = problems
        # Warnings found on the way (unknown keys, unset env.VARs): often the cause of a problem.
        self.warnings = warnings or []


class LoadResult(msgspec.Struct, kw_only=True):
    config: GatewayConfig
    warnings: list[str]
    notices: list[str]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return f'string "{value[:40]}"'
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class _Reader:
    """Typed access to the raw JSON that records problems instead of raising."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = environ
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.notices: list[str] = []

    def problem(self, path: str, expected: str, found: Any) -> None:
        self.problems.append(f"{path}: expected {expected}, found {_kind(found)}")

    def check_keys(self, path: str, obj: dict[str, Any], implemented: set[str], bifrost: set[str]) -> None:
        for k in obj:
            if k in implemented:
                continue
            if k in bifrost:
                self.notices.append(f"{path}.{k}: recognised Bifrost setting, not implemented yet; ignored")
            else:
                self.warnings.append(f"{path}.{k}: unknown key, ignored (check the spelling)")

    def obj(self, path: str, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(path, "an object", value)
            return None
        return value

    def string(self, path: str, value: Any, *, env: bool = True) -> str | None:
        """A string field; `env.VAR` is resolved. Unset variables return None and are noted."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(path, "a string", value)
            return None
        if env and value.startswith("env."):
            name = value[4:]
            if not name:
                self.problem(path, "env.VAR_NAME", value)
                return None
            resolved = self.env.get(name)
            if resolved is None:
                self.warnings.append(unset_message(name, path))
                return None
            return resolved
        return value

    def boolean(self, path: str, value: Any, default: bool) -> bool:
        if value is None:
            return default
        if isinstance(value, str) and value.startswith("env."):
            value = self.string(path, value)
            if value is None:
                return default
            if value.lower() in ("true", "1", "false", "0"):
                return value.lower() in ("true", "1")
        if not isinstance(value, bool):
            self.problem(path, "true or false", value)
            return default
        return value

    def number(
        self, path: str, value: Any, default: float, *, minimum: float | None = None,
        maximum: float | None = None, integer: bool = True,
    ) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or (
            integer and isinstance(value, float) and not value.is_integer()
        ):
            self.problem(path, "an integer" if integer else "a number", value)
            return default
        if minimum is not None and value < minimum:
            self.problem(path, f"a number >= {minimum:g}", value)
            return default
        if maximum is not None and value > maximum:
            self.problem(path, f"a number <= {maximum:g}", value)
            return default
        return value

    def strings(self, path: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(path, "an array of strings", value)
            return ()
        out = []
        for i, item in enumerate(value):
            s = self.string(f"{path}[{i}]", item)
            if s is not None:
                out.append(s)
        return tuple(out)


def unset_message(name: str, path: str) -> str:
    return f"env.{name}: not set ({path.removeprefix('$.')})"


def load_config(app_dir: Path, environ: Mapping[str, str] | None = None) -> LoadResult:
    """Read `<app_dir>/config.json`, or build the config from the environment when it is absent."""
    env = os.environ if environ is None else environ
    path = app_dir / "config.json"
    if not path.exists():
        return config_from_environment(env)
    try:
        raw = msgspec.json.decode(path.read_bytes())
    except msgspec.DecodeError as exc:
        raise ConfigInvalid(str(path), [f"$: not valid JSON: {exc}"]) from None
    except OSError as exc:
        raise ConfigInvalid(str(path), [f"$: cannot read the file: {exc.strerror}"]) from None
    return parse_config(raw, env, source=str(path))


def parse_config(raw: Any, env: Mapping[str, str], *, source: str = "config.json") -> LoadResult:
    r = _Reader(env)
    if not isinstance(raw, dict):
        raise ConfigInvalid(source, [f"$: expected an object, found {_kind(raw)}"])
    r.check_keys("$", raw, known.TOP_IMPLEMENTED, known.TOP_BIFROST)
    version = int(r.number("$.version", raw.get("version"), 1, minimum=1, maximum=2))
    client = _client(r, r.obj("$.client", raw.get("client")) or {})
    providers: dict[str, ProviderConfig] = {}
    praw = r.obj("$.providers", raw.get("providers")) or {}
    for name, pval in praw.items():
        p = _provider(r, name, pval, version)
        if p is not None:
            providers[name] = p
    from bifrost.config import sections

    config_store = sections.store(r, "config_store", raw.get("config_store"))
    logs_store = sections.store(r, "logs_store", raw.get("logs_store"))
    enc = sections.encryption_key(r, raw.get("encryption_key"), env)
    auth = sections.auth(r, raw.get("auth_config"), env)
    pricing_url = sections.framework(r, raw.get("framework"))
    from bifrost.config.cluster import parse_cluster

    cluster = parse_cluster(r, raw.get("cluster_config"))
    gov = r.obj("$.governance", raw.get("governance"))
    if gov:
        r.check_keys("$.governance", gov, known.GOVERNANCE_IMPLEMENTED, known.GOVERNANCE_BIFROST)
    if r.problems:
        raise ConfigInvalid(source, r.problems, r.warnings)
    cfg = GatewayConfig(providers=providers, client=client, version=version, source=source,
                        config_store=config_store, logs_store=logs_store, encryption_key=enc, auth=auth,
                        pricing_url=pricing_url, cluster=cluster, raw=raw)
    return LoadResult(config=cfg, warnings=r.warnings, notices=r.notices)


def config_from_environment(env: Mapping[str, str]) -> LoadResult:
    """No config.json: enable every provider whose standard API-key variable is set."""
    from bifrost.providers.registry import env_enabled_providers

    providers = {}
    for name, var in env_enabled_providers(env):
        key = Key(name=f"{name}-env", value=env[var], models=(), weight=1.0)
        providers[name] = ProviderConfig(name=name, keys=(key,))
    notices = [
        "no config.json found; providers enabled from the environment: "
        + (", ".join(f"{n} ({v})" for n, v in env_enabled_providers(env)) or "none")
    ]
    from bifrost.config import sections

    r = _Reader(env)
    cfg = GatewayConfig(providers=providers, source="environment",
                        encryption_key=env.get("BIFROST_ENCRYPTION_KEY") or None, auth=sections.auth(r, None, env))
    return LoadResult(config=cfg, warnings=[], notices=notices)


def _client(r: _Reader, c: dict[str, Any]) -> ClientConfig:
    p = "$.client"
    r.check_keys(p, c, known.CLIENT_IMPLEMENTED, known.CLIENT_BIFROST)
    d = ClientConfig()
    return ClientConfig(
        drop_excess_requests=r.boolean(f"{p}.drop_excess_requests", c.get("drop_excess_requests"), False),
        initial_pool_size=int(r.number(f"{p}.initial_pool_size", c.get("initial_pool_size"), 300, minimum=1)),
        max_request_body_size_mb=int(
            r.number(f"{p}.max_request_body_size_mb", c.get("max_request_body_size_mb"),
                     d.max_request_body_size_mb, minimum=1)
        ),
        allowed_origins=r.strings(f"{p}.allowed_origins", c.get("allowed_origins")) or ("*",),
        allowed_headers=r.strings(f"{p}.allowed_headers", c.get("allowed_headers")),
        prometheus_labels=r.strings(f"{p}.prometheus_labels", c.get("prometheus_labels")),
        enable_logging=r.boolean(f"{p}.enable_logging", c.get("enable_logging"), True),
        disable_content_logging=r.boolean(f"{p}.disable_content_logging", c.get("disable_content_logging"), False),
        disable_db_pings_in_health=r.boolean(
            f"{p}.disable_db_pings_in_health", c.get("disable_db_pings_in_health"), False
        ),
        log_retention_days=int(r.number(f"{p}.log_retention_days", c.get("log_retention_days"), 365, minimum=1)),
        shutdown_grace_seconds=r.number(
            f"{p}.shutdown_grace_seconds", c.get("shutdown_grace_seconds"), 55.0, minimum=0, integer=False
        ),
        enforce_auth_on_inference=(
            r.boolean(f"{p}.enforce_auth_on_inference", c.get("enforce_auth_on_inference"), False)
            or r.boolean(f"{p}.enforce_governance_header", c.get("enforce_governance_header"), False)
        ),
    )


def _provider(r: _Reader, name: str, value: Any, version: int) -> ProviderConfig | None:
    from bifrost.providers.registry import is_known_provider

    p = f"$.providers.{name}"
    obj = r.obj(p, value)
    if obj is None:
        return None
    r.check_keys(p, obj, known.PROVIDER_IMPLEMENTED, known.PROVIDER_BIFROST)
    custom = _custom(r, p, obj.get("custom_provider_config"))
    if custom is None and not is_known_provider(name):
        r.problems.append(
            f"{p}: unknown provider {name!r}; use a supported provider name (see docs/providers.md) "
            'or add "custom_provider_config": {"base_provider_type": "openai"} to define a custom one'
        )
        return None
    unresolved: list[str] = []
    network = _network(r, p, obj.get("network_config"), unresolved)
    queue = _queue(r, p, obj.get("concurrency_and_buffer_size"))
    keys = _keys(r, p, obj.get("keys"), version)
    if (custom.base_provider_type if custom else name) == "azure" and network.base_url is None:
        for i, key in enumerate(keys):
            if key.azure is None and not any(x.startswith(f"{p}.keys[{i}].azure_key_config") for x in r.problems):
                r.problems.append(
                    f'{p}.keys[{i}].azure_key_config: expected an object with an "endpoint" (the Azure OpenAI '
                    "resource URL), found nothing; or set network_config.base_url"
                )
    if (custom.base_provider_type if custom else name) == "vertex":
        for i, key in enumerate(keys):
            if key.vertex is None and not any(x.startswith(f"{p}.keys[{i}].vertex_key_config") for x in r.problems):
                r.problems.append(
                    f'{p}.keys[{i}].vertex_key_config: expected an object with "project_id" and "region" '
                    "(and auth_credentials, a service-account JSON), found nothing"
                )
    return ProviderConfig(
        name=name, keys=keys, network=network, queue=queue, custom=custom, unresolved=tuple(unresolved)
    )


def _keys(r: _Reader, p: str, value: Any, version: int) -> tuple[Key, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        r.problem(f"{p}.keys", "an array of keys", value)
        return ()
    keys = []
    for i, kv in enumerate(value):
        kp = f"{p}.keys[{i}]"
        k = r.obj(kp, kv)
        if k is None:
            continue
        r.check_keys(kp, k, known.KEY_IMPLEMENTED, known.KEY_BIFROST)
        raw_value = k.get("value")
        unresolved = None
        if isinstance(raw_value, str) and raw_value.startswith("env.") and raw_value[4:] not in r.env:
            unresolved = unset_message(raw_value[4:], f"{kp}.value")
        val = r.string(f"{kp}.value", raw_value) or ""
        azure, azure_unset = _azure(r, kp, k.get("azure_key_config"))
        bedrock, bedrock_unset = _bedrock(r, kp, k.get("bedrock_key_config"))
        vertex, vertex_unset = _vertex(r, kp, k.get("vertex_key_config"))
        keys.append(
            Key(
                name=r.string(f"{kp}.name", k.get("name"), env=False) or f"key-{i}",
                value=val,
                models=r.strings(f"{kp}.models", k.get("models")),
                weight=float(r.number(f"{kp}.weight", k.get("weight"), 1.0, minimum=0, integer=False)),
                unresolved=unresolved or azure_unset or bedrock_unset or vertex_unset,
                empty_denies=version >= 2,
                azure=azure,
                bedrock=bedrock,
                vertex=vertex,
            )
        )
    return tuple(keys)


def _bedrock(r: _Reader, kp: str, value: Any) -> tuple[BedrockKeyConfig | None, str | None]:
    """A key's `bedrock_key_config`, and the unset-variable message if one of its env.VARs is unset."""
    bp = f"{kp}.bedrock_key_config"
    b = r.obj(bp, value)
    if b is None:
        return None, None
    r.check_keys(bp, b, known.BEDROCK_KEY_IMPLEMENTED, known.BEDROCK_KEY_BIFROST)
    unset: list[str] = []

    def field(name: str) -> str | None:
        raw = b.get(name)
        if isinstance(raw, str) and raw.startswith("env.") and raw[4:] and raw[4:] not in r.env:
            unset.append(unset_message(raw[4:], f"{bp}.{name}"))
        return r.string(f"{bp}.{name}", raw) or None

    cfg = BedrockKeyConfig(access_key=field("access_key"), secret_key=field("secret_key"),
                           session_token=field("session_token"), region=field("region"))
    if bool(cfg.access_key) != bool(cfg.secret_key) and not unset:
        r.problems.append(f"{bp}: access_key and secret_key go together (or leave both out to use the AWS "
                          "default credential chain)")
    return cfg, ("; ".join(unset) or None)


def _vertex(r: _Reader, kp: str, value: Any) -> tuple[VertexKeyConfig | None, str | None]:
    """A key's `vertex_key_config`, and the unset-variable message if one of its env.VARs is unset."""
    vp = f"{kp}.vertex_key_config"
    v = r.obj(vp, value)
    if v is None:
        return None, None
    r.check_keys(vp, v, known.VERTEX_KEY_IMPLEMENTED, set())
    unset: list[str] = []

    def field(name: str) -> str | None:
        raw = v.get(name)
        if isinstance(raw, str) and raw.startswith("env.") and raw[4:] and raw[4:] not in r.env:
            unset.append(unset_message(raw[4:], f"{vp}.{name}"))
        return r.string(f"{vp}.{name}", raw)

    hints = {"project_id": 'the Google Cloud project ID (e.g. "my-project" or "env.VERTEX_PROJECT_ID")',
             "region": 'a Google Cloud region (e.g. "us-central1" or "global")'}
    values: dict[str, str | None] = {}
    for name, hint in hints.items():
        raw = v.get(name)
        if raw is None or raw == "":
            r.problems.append(f"{vp}.{name}: expected {hint}, found "
                              + ("nothing" if raw is None else "an empty string"))
            values[name] = None
        else:
            values[name] = field(name)
    creds = field("auth_credentials") or None
    if creds is not None:
        problem = _service_account_problem(creds)
        if problem:
            r.problems.append(f"{vp}.auth_credentials: {problem}")
    cfg = VertexKeyConfig(project_id=values["project_id"] or "", region=values["region"] or "",
                          project_number=field("project_number") or None, auth_credentials=creds)
    return cfg, ("; ".join(unset) or None)


def _service_account_problem(creds: str) -> str | None:
    """Why a vertex auth_credentials string is not a usable service-account JSON (never echoes it)."""
    try:
        info = msgspec.json.decode(creds)
    except msgspec.DecodeError:
        return "expected a Google service-account key JSON (as a string), found text that is not JSON"
    if not isinstance(info, dict):
        return f"expected a Google service-account key JSON object, found {_kind(info)}"
    if info.get("type", "service_account") != "service_account":
        return f'expected "type": "service_account", found {_kind(info.get("type"))}'
    missing = [f for f in ("client_email", "private_key", "token_uri") if not isinstance(info.get(f), str)
               or not info.get(f)]
    if missing:
        return "the service-account JSON lacks " + ", ".join(missing)
    return None


def _azure(r: _Reader, kp: str, value: Any) -> tuple[AzureKeyConfig | None, str | None]:
    """A key's `azure_key_config`, and the unset-variable message if one of its env.VARs is unset."""
    ap = f"{kp}.azure_key_config"
    a = r.obj(ap, value)
    if a is None:
        return None, None
    r.check_keys(ap, a, known.AZURE_KEY_IMPLEMENTED, set())
    unset: list[str] = []

    def field(name: str) -> str | None:
        raw = a.get(name)
        if isinstance(raw, str) and raw.startswith("env.") and raw[4:] and raw[4:] not in r.env:
            unset.append(unset_message(raw[4:], f"{ap}.{name}"))
        return r.string(f"{ap}.{name}", raw)

    raw_endpoint = a.get("endpoint")
    if raw_endpoint is None or raw_endpoint == "":
        r.problems.append(f'{ap}.endpoint: expected the Azure OpenAI resource URL '
                          f'(e.g. "https://my-resource.openai.azure.com" or "env.AZURE_ENDPOINT"), found '
                          + ("nothing" if raw_endpoint is None else "an empty string"))
        return None, None
    endpoint = field("endpoint")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        r.problem(f"{ap}.endpoint", "an http:// or https:// URL", endpoint)
    api_version = field("api_version")
    if api_version == "":
        r.problem(f"{ap}.api_version", 'an Azure API version such as "2024-10-21"', api_version)
    deployments: dict[str, str] = {}
    for model, dep in (r.obj(f"{ap}.deployments", a.get("deployments")) or {}).items():
        d = r.string(f"{ap}.deployments.{model}", dep)
        if d:
            deployments[model] = d
    entra = {n: field(n) for n in ("client_id", "client_secret", "tenant_id")}
    given = [n for n in entra if a.get(n) not in (None, "")]
    if given and len(given) < 3:
        missing = ", ".join(n for n in entra if n not in given)
        r.problems.append(f"{ap}: client_id, client_secret and tenant_id go together (Entra ID); missing {missing}")
    cfg = AzureKeyConfig(
        endpoint=(endpoint or "").rstrip("/"),
        api_version=api_version or DEFAULT_AZURE_API_VERSION,
        deployments=deployments,
        client_id=entra["client_id"], client_secret=entra["client_secret"], tenant_id=entra["tenant_id"],
        scopes=r.strings(f"{ap}.scopes", a.get("scopes")),
    )
    return cfg, ("; ".join(unset) or None)


def _network(r: _Reader, p: str, value: Any, unresolved: list[str]) -> NetworkConfig:
    np_ = f"{p}.network_config"
    n = r.obj(np_, value)
    if n is None:
        return NetworkConfig()
    r.check_keys(np_, n, known.NETWORK_IMPLEMENTED, known.NETWORK_BIFROST)
    base_url = n.get("base_url")
    if isinstance(base_url, str) and base_url.startswith("env.") and base_url[4:] not in r.env:
        unresolved.append(unset_message(base_url[4:], f"{np_}.base_url"))
    base = r.string(f"{np_}.base_url", base_url)
    if base is not None and not base.startswith(("http://", "https://")):
        r.problem(f"{np_}.base_url", "an http:// or https:// URL", base)
        base = None
    headers: dict[str, str] = {}
    eh = r.obj(f"{np_}.extra_headers", n.get("extra_headers")) or {}
    for hk, hv in eh.items():
        s = r.string(f"{np_}.extra_headers.{hk}", hv)
        if s is not None:
            headers[hk] = s
    d = NetworkConfig()
    initial = int(r.number(f"{np_}.retry_backoff_initial", n.get("retry_backoff_initial"),
                           d.backoff_initial_ms, minimum=1))
    maximum = int(r.number(f"{np_}.retry_backoff_max", n.get("retry_backoff_max"), d.backoff_max_ms, minimum=1))
    if maximum < initial:
        r.problems.append(
            f"{np_}.retry_backoff_max: expected a value >= retry_backoff_initial ({initial}), found number {maximum}"
        )
    return NetworkConfig(
        base_url=base.rstrip("/") if base else None,
        extra_headers=headers,
        timeout_s=r.number(f"{np_}.default_request_timeout_in_seconds",
                           n.get("default_request_timeout_in_seconds"), d.timeout_s, minimum=1, integer=False),
        max_retries=int(r.number(f"{np_}.max_retries", n.get("max_retries"), 0, minimum=0)),
        backoff_initial_ms=initial,
        backoff_max_ms=maximum,
        stream_idle_timeout_s=r.number(f"{np_}.stream_idle_timeout_in_seconds",
                                       n.get("stream_idle_timeout_in_seconds"), d.stream_idle_timeout_s,
                                       minimum=1, maximum=3600, integer=False),
        max_conns_per_host=int(r.number(f"{np_}.max_conns_per_host", n.get("max_conns_per_host"),
                                        d.max_conns_per_host, minimum=1, maximum=10000)),
    )


def _queue(r: _Reader, p: str, value: Any) -> QueueConfig:
    qp = f"{p}.concurrency_and_buffer_size"
    q = r.obj(qp, value)
    if q is None:
        return QueueConfig()
    r.check_keys(qp, q, {"concurrency", "buffer_size"}, set())
    d = QueueConfig()
    conc = int(r.number(f"{qp}.concurrency", q.get("concurrency"), d.concurrency, minimum=1))
    buf = int(r.number(f"{qp}.buffer_size", q.get("buffer_size"), d.buffer_size, minimum=1))
    if buf < conc:
        r.problems.append(f"{qp}.buffer_size: expected a value >= concurrency ({conc}), found number {buf}")
    return QueueConfig(concurrency=conc, buffer_size=buf)


def _custom(r: _Reader, p: str, value: Any) -> CustomProviderConfig | None:
    from bifrost.providers.registry import is_known_provider, supports_custom_base

    cp = f"{p}.custom_provider_config"
    c = r.obj(cp, value)
    if c is None:
        return None
    r.check_keys(cp, c, known.CUSTOM_IMPLEMENTED, set())
    base = c.get("base_provider_type")
    if not isinstance(base, str) or not is_known_provider(base):
        r.problem(f"{cp}.base_provider_type", "a provider name such as \"openai\"", base)
        return None
    if not supports_custom_base(base):
        r.problems.append(
            f"{cp}.base_provider_type: {base!r} is not supported as a custom base in this version; use \"openai\""
        )
        return None
    allowed = r.obj(f"{cp}.allowed_requests", c.get("allowed_requests"))
    allowed_map = None
    if allowed is not None:
        allowed_map = {k: r.boolean(f"{cp}.allowed_requests.{k}", v, False) for k, v in allowed.items()}
    overrides: dict[str, str] = {}
    for k, v in (r.obj(f"{cp}.request_path_overrides", c.get("request_path_overrides")) or {}).items():
        path = r.string(f"{cp}.request_path_overrides.{k}", v)
        if path is not None and not path.startswith("/"):
            r.problem(f"{cp}.request_path_overrides.{k}", 'a path starting with "/"', path)
        elif path is not None:
            overrides[k] = path
    return CustomProviderConfig(
        base_provider_type=base,
        is_key_less=r.boolean(f"{cp}.is_key_less", c.get("is_key_less"), False),
        allowed_requests=allowed_map,
        request_path_overrides=overrides,
    )


def parse_provider(name: str, body: Any, env: Mapping[str, str], version: int = 1
                   ) -> tuple[ProviderConfig | None, list[str], list[str]]:
    """One provider body (as under `providers.<name>`), validated by the rules config.json uses.

    Returns (config or None, problems, warnings); the management API uses it so that the API and
    config.json reject the same bodies with the same messages.
    """
    r = _Reader(env)
    p = _provider(r, name, body, version)
    return (None if r.problems else p), r.problems, r.warnings


def parse_client(body: Any, env: Mapping[str, str]) -> tuple[ClientConfig, list[str], list[str]]:
    """A `client` body, validated by the rules config.json uses: (config, problems, warnings)."""
    r = _Reader(env)
    obj = r.obj("$.client", body) or {}
    return _client(r, obj), r.problems, r.warnings
