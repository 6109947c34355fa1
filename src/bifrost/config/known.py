"""Which config.json keys Bifrost defines (from its config.schema.json) and which we implement.

A key in `*_BIFROST` but not in `*_IMPLEMENTED` is a real Bifrost setting this version ignores
(noted at start); a key in neither is a typo or a foreign setting (warned at start).
"""

TOP_BIFROST = {
    "$schema", "version", "encryption_key", "auth_config", "client", "framework", "providers",
    "governance", "mcp", "vector_store", "config_store", "logs_store", "plugins", "websocket",
    "guardrails_config", "audit_logs", "cluster_config", "load_balancer_config",
    "large_payload_optimization", "scim_config", "access_profiles", "source_of_truth", "server",
}
TOP_IMPLEMENTED = {"$schema", "version", "client", "providers", "config_store", "logs_store", "encryption_key",
                   "auth_config", "source_of_truth", "framework", "cluster_config", "governance"}

CLIENT_BIFROST = {
    "allow_per_request_content_storage_override", "allow_per_request_raw_override", "allowed_headers",
    "allowed_origins", "async_job_result_ttl", "compat", "disable_content_logging",
    "disable_db_pings_in_health", "drop_excess_requests", "enable_logging", "enforce_auth_on_inference",
    "enforce_governance_header", "enforce_scim_auth", "header_filter_config",
    "hide_deleted_virtual_keys_in_filters", "initial_pool_size", "log_retention_days", "logging_headers",
    "max_request_body_size_mb", "mcp_agent_depth", "mcp_code_mode_binding_level",
    "mcp_disable_auto_tool_inject", "mcp_external_client_url", "mcp_external_server_url",
    "mcp_tool_execution_timeout", "mcp_tool_sync_interval", "prometheus_labels", "required_headers",
    "routing_chain_max_depth", "whitelisted_routes",
}
CLIENT_IMPLEMENTED = {
    "drop_excess_requests", "initial_pool_size", "max_request_body_size_mb", "allowed_origins",
    "allowed_headers", "prometheus_labels", "enable_logging", "disable_content_logging",
    "disable_db_pings_in_health", "shutdown_grace_seconds", "log_retention_days", "enforce_auth_on_inference",
    "enforce_governance_header",
}

PROVIDER_BIFROST = {
    "keys", "network_config", "concurrency_and_buffer_size", "proxy_config", "send_back_raw_request",
    "send_back_raw_response", "store_raw_request_response", "custom_provider_config",
}
PROVIDER_IMPLEMENTED = {"keys", "network_config", "concurrency_and_buffer_size", "custom_provider_config"}

KEY_BIFROST = {
    "name", "value", "models", "weight", "use_for_batch_api", "aliases", "azure_key_config",
    "vertex_key_config", "bedrock_key_config", "vllm_key_config", "ollama_key_config",
    "replicate_key_config", "sgl_key_config", "id", "description",
}
KEY_IMPLEMENTED = {"name", "value", "models", "weight", "azure_key_config", "bedrock_key_config",
                   "vertex_key_config"}
VERTEX_KEY_IMPLEMENTED = {"project_id", "project_number", "region", "auth_credentials"}
BEDROCK_KEY_IMPLEMENTED = {"access_key", "secret_key", "session_token", "region"}
BEDROCK_KEY_BIFROST = {"arn", "deployments", "role_arn", "external_id", "session_name", "batch_s3_config"}
AZURE_KEY_IMPLEMENTED = {
    "endpoint", "api_version", "deployments", "client_id", "client_secret", "tenant_id", "scopes",
}

NETWORK_BIFROST = {
    "base_url", "beta_header_overrides", "ca_cert_pem", "default_request_timeout_in_seconds",
    "enforce_http2", "extra_headers", "insecure_skip_verify", "max_conns_per_host", "max_retries",
    "retry_backoff_initial", "retry_backoff_max", "stream_idle_timeout_in_seconds",
}
NETWORK_IMPLEMENTED = {
    "base_url", "default_request_timeout_in_seconds", "extra_headers", "max_conns_per_host", "max_retries",
    "retry_backoff_initial", "retry_backoff_max", "stream_idle_timeout_in_seconds",
}

CUSTOM_IMPLEMENTED = {"base_provider_type", "is_key_less", "allowed_requests", "request_path_overrides"}

GOVERNANCE_BIFROST = {
    "budgets", "rate_limits", "customers", "teams", "business_units", "virtual_keys", "routing_rules",
    "pricing_overrides", "auth_config", "model_configs", "providers",
}
# usage_store is ours (where budget and rate-limit counters live): see docs/governance.md.
GOVERNANCE_IMPLEMENTED = {"budgets", "rate_limits", "customers", "teams", "virtual_keys", "usage_store"}
