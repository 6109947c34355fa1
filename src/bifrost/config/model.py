"""The gateway's typed, resolved configuration (what `config.json` means once loaded).

Every value here is already resolved: `env.VAR` references are replaced by their values, and
a reference whose variable is not set is kept as a message (`Key.unresolved`) so that a request
needing it can say exactly what is missing.
"""

from __future__ import annotations

import msgspec

from bifrost.config.cluster import ClusterConfig

DEFAULT_CONCURRENCY = 1000
DEFAULT_BUFFER_SIZE = 5000
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_BACKOFF_INITIAL_MS = 500
DEFAULT_BACKOFF_MAX_MS = 5000
DEFAULT_STREAM_IDLE_TIMEOUT_S = 60.0
DEFAULT_MAX_BODY_MB = 100
DEFAULT_AZURE_API_VERSION = "2024-10-21"  # Bifrost's AzureAPIVersionDefault


class AzureKeyConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A key's `azure_key_config`: where the Azure OpenAI resource lives and how to authenticate."""

    endpoint: str
    api_version: str = DEFAULT_AZURE_API_VERSION
    # model name -> deployment name; a model not listed is used as the deployment name.
    deployments: dict[str, str] = msgspec.field(default_factory=dict)
    # Microsoft Entra ID (client-credentials flow): all three set -> bearer token instead of api-key.
    client_id: str | None = None
    client_secret: str | None = None
    tenant_id: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def entra(self) -> bool:
        return bool(self.client_id and self.client_secret and self.tenant_id)


class BedrockKeyConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A key's `bedrock_key_config`: AWS region and static credentials (none: botocore's default chain)."""

    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None
    region: str | None = None


class VertexKeyConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A key's `vertex_key_config`: the Google Cloud project and region, and a service-account JSON for
    OAuth2 (none: Application Default Credentials). The key's `value`, when set, is a Vertex API key."""

    project_id: str
    region: str
    project_number: str | None = None
    auth_credentials: str | None = None


class Key(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    value: str
    models: tuple[str, ...] = ()
    weight: float = 1.0
    # Set when the value is an env.VAR whose variable is not set:
    # "env.OPENAI_API_KEY: not set (providers.openai.keys[0].value)".
    unresolved: str | None = None
    # Bifrost config `version` 2: an empty models list denies every model.
    empty_denies: bool = False
    azure: AzureKeyConfig | None = None
    bedrock: BedrockKeyConfig | None = None
    vertex: VertexKeyConfig | None = None

    @property
    def has_credential(self) -> bool:
        """A value, or an Azure Entra ID client (which needs no value)."""
        return (bool(self.value) or (self.azure is not None and self.azure.entra) or self.bedrock is not None
                or self.vertex is not None)

    def admits(self, model: str) -> bool:
        if not self.models:
            return not self.empty_denies
        return "*" in self.models or model in self.models


class NetworkConfig(msgspec.Struct, frozen=True, kw_only=True):
    base_url: str | None = None
    extra_headers: dict[str, str] = msgspec.field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = 0
    backoff_initial_ms: int = DEFAULT_BACKOFF_INITIAL_MS
    backoff_max_ms: int = DEFAULT_BACKOFF_MAX_MS
    stream_idle_timeout_s: float = DEFAULT_STREAM_IDLE_TIMEOUT_S
    max_conns_per_host: int = 5000


class QueueConfig(msgspec.Struct, frozen=True, kw_only=True):
    concurrency: int = DEFAULT_CONCURRENCY
    buffer_size: int = DEFAULT_BUFFER_SIZE


class CustomProviderConfig(msgspec.Struct, frozen=True, kw_only=True):
    base_provider_type: str
    is_key_less: bool = False
    # None: every request type the base provider offers is allowed.
    allowed_requests: dict[str, bool] | None = None
    request_path_overrides: dict[str, str] = msgspec.field(default_factory=dict)


class ProviderConfig(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    keys: tuple[Key, ...] = ()
    network: NetworkConfig = msgspec.field(default_factory=NetworkConfig)
    queue: QueueConfig = msgspec.field(default_factory=QueueConfig)
    custom: CustomProviderConfig | None = None
    # Problems that make every request to this provider fail, e.g. an unset env.VAR in base_url.
    unresolved: tuple[str, ...] = ()

    @property
    def base_type(self) -> str:
        return self.custom.base_provider_type if self.custom else self.name


class ClientConfig(msgspec.Struct, frozen=True, kw_only=True):
    drop_excess_requests: bool = False
    initial_pool_size: int = 300
    max_request_body_size_mb: int = DEFAULT_MAX_BODY_MB
    allowed_origins: tuple[str, ...] = ("*",)
    allowed_headers: tuple[str, ...] = ()
    prometheus_labels: tuple[str, ...] = ()
    enable_logging: bool = True
    disable_content_logging: bool = False
    disable_db_pings_in_health: bool = False
    # Request logs older than this are deleted in the background (Bifrost's default: a year).
    log_retention_days: int = 365
    # Seconds that in-flight requests and streams get to finish after SIGTERM.
    shutdown_grace_seconds: float = 55.0
    # Inference needs a virtual key (enforce_governance_header is Bifrost's older name for it).
    enforce_auth_on_inference: bool = False


class PostgresConfig(msgspec.Struct, frozen=True, kw_only=True):
    """`config_store.config` / `logs_store.config` when `type` is `postgres` (values resolved)."""

    host: str
    port: int = 5432
    user: str
    password: str = ""
    db_name: str
    ssl_mode: str = "disable"
    max_open_conns: int = 50
    max_idle_conns: int = 5


class StoreConfig(msgspec.Struct, frozen=True, kw_only=True):
    """`config_store` or `logs_store`. SQLite in the app dir is the embedded default."""

    enabled: bool = True
    type: str = "sqlite"  # "sqlite" | "postgres"
    # SQLite file; a relative path is relative to the app dir. None: the store's default file name.
    path: str | None = None
    postgres: PostgresConfig | None = None


class AuthConfig(msgspec.Struct, frozen=True, kw_only=True):
    """`auth_config` (admin auth for /api and, unless disabled, inference)."""

    admin_username: str = ""
    admin_password: str = ""
    is_enabled: bool = False
    disable_auth_on_inference: bool = False


class GatewayConfig(msgspec.Struct, frozen=True, kw_only=True):
    providers: dict[str, ProviderConfig] = msgspec.field(default_factory=dict)
    client: ClientConfig = msgspec.field(default_factory=ClientConfig)
    config_store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    logs_store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    # The resolved passphrase (from `encryption_key` or BIFROST_ENCRYPTION_KEY); None: plaintext.
    encryption_key: str | None = None
    auth: AuthConfig = msgspec.field(default_factory=AuthConfig)
    # `framework.pricing.pricing_url`: a local price override (file:// or a path); http(s) is not fetched.
    pricing_url: str | None = None
    cluster: ClusterConfig = msgspec.field(default_factory=ClusterConfig)
    # Raw JSON sections kept for the subsystems that parse them (plugins, governance, ...).
    raw: dict[str, object] = msgspec.field(default_factory=dict)
    version: int = 1
    # Where the config came from, for logs: a path, or "environment" when there was no config.json.
    source: str = "defaults"
