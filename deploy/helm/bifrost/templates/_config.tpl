{{/*
config.json, assembled from bifrost.* (camelCase values -> Bifrost's snake_case keys) and storage.*.
Every secret becomes an "env.VAR" reference filled from a Secret; no literal password or key is
written here. Emitted compact with sorted keys (toJson), as Bifrost's chart does.
*/}}
{{- define "bifrost.config" -}}
{{- $v := .Values -}}
{{- $b := $v.bifrost -}}
{{- $fullname := include "bifrost.fullname" . -}}
{{- $cfg := dict "$schema" "https://www.getbifrost.ai/schema" -}}

{{- /* client */ -}}
{{- $c := $b.client | default dict -}}
{{- $client := dict -}}
{{- $names := dict "dropExcessRequests" "drop_excess_requests" "initialPoolSize" "initial_pool_size" "allowedOrigins" "allowed_origins" "enableLogging" "enable_logging" "disableContentLogging" "disable_content_logging" "disableDbPingsInHealth" "disable_db_pings_in_health" "logRetentionDays" "log_retention_days" "enforceGovernanceHeader" "enforce_governance_header" "enforceAuthOnInference" "enforce_auth_on_inference" "maxRequestBodySizeMb" "max_request_body_size_mb" "prometheusLabels" "prometheus_labels" "asyncJobResultTTL" "async_job_result_ttl" "requiredHeaders" "required_headers" "loggingHeaders" "logging_headers" "whitelistedRoutes" "whitelisted_routes" "allowedHeaders" "allowed_headers" "mcpAgentDepth" "mcp_agent_depth" "mcpToolExecutionTimeout" "mcp_tool_execution_timeout" "mcpCodeModeBindingLevel" "mcp_code_mode_binding_level" "mcpToolSyncInterval" "mcp_tool_sync_interval" "hideDeletedVirtualKeysInFilters" "hide_deleted_virtual_keys_in_filters" "mcpDisableAutoToolInject" "mcp_disable_auto_tool_inject" "routingChainMaxDepth" "routing_chain_max_depth" -}}
{{- range $camel, $snake := $names -}}
{{- if hasKey $c $camel -}}
{{- $val := index $c $camel -}}
{{- if or (kindIs "bool" $val) $val -}}
{{- $_ := set $client $snake $val -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $c.compat -}}
{{- $cc := dict -}}
{{- range $camel, $snake := dict "convertTextToChat" "convert_text_to_chat" "convertChatToResponses" "convert_chat_to_responses" "shouldDropParams" "should_drop_params" "shouldConvertParams" "should_convert_params" -}}
{{- if hasKey $c.compat $camel }}{{ $_ := set $cc $snake (index $c.compat $camel) }}{{ end -}}
{{- end -}}
{{- $_ := set $client "compat" $cc -}}
{{- end -}}
{{- $hf := $c.headerFilterConfig | default dict -}}
{{- if or $hf.allowlist $hf.denylist -}}
{{- $h := dict -}}
{{- if $hf.allowlist }}{{ $_ := set $h "allowlist" $hf.allowlist }}{{ end -}}
{{- if $hf.denylist }}{{ $_ := set $h "denylist" $hf.denylist }}{{ end -}}
{{- $_ := set $client "header_filter_config" $h -}}
{{- end -}}
{{- /* The gateway's own drain must end before the kubelet's SIGKILL: grace minus the preStop sleep and a margin. */ -}}
{{- if $c.shutdownGraceSeconds -}}
{{- $_ := set $client "shutdown_grace_seconds" $c.shutdownGraceSeconds -}}
{{- else if $v.terminationGracePeriodSeconds -}}
{{- $g := int $v.terminationGracePeriodSeconds -}}
{{- $_ := set $client "shutdown_grace_seconds" (ternary (sub $g 20) (max 1 (div $g 2)) (gt $g 30)) -}}
{{- end -}}
{{- if $client }}{{ $_ := set $cfg "client" $client }}{{ end -}}

{{- /* framework */ -}}
{{- $pr := (($b.framework | default dict).pricing) | default dict -}}
{{- if or $pr.pricingUrl $pr.pricingSyncInterval -}}
{{- $pricing := dict -}}
{{- if $pr.pricingUrl }}{{ $_ := set $pricing "pricing_url" $pr.pricingUrl }}{{ end -}}
{{- if $pr.pricingSyncInterval }}{{ $_ := set $pricing "pricing_sync_interval" $pr.pricingSyncInterval }}{{ end -}}
{{- $_ := set $cfg "framework" (dict "pricing" $pricing) -}}
{{- end -}}

{{- /* providers: as-is, with literal credentials replaced by env references (see bifrost.providerLiterals) */ -}}
{{- if $b.providers -}}
{{- $providers := deepCopy $b.providers -}}
{{- $nested := dict "bedrock_key_config" (list "access_key" "secret_key" "session_token") "azure_key_config" (list "client_secret") "vertex_key_config" (list "auth_credentials") -}}
{{- range $pname, $p := $providers -}}
{{- if and (kindIs "map" $p) (kindIs "slice" $p.keys) -}}
{{- range $i, $k := $p.keys -}}
{{- if kindIs "map" $k -}}
{{- if and (kindIs "string" $k.value) $k.value (not (hasPrefix "env." $k.value)) -}}
{{- $_ := set $k "value" (printf "env.%s" (include "bifrost.providerEnvName" (list $pname $i ""))) -}}
{{- end -}}
{{- range $cfgName, $fields := $nested -}}
{{- $kc := index $k $cfgName -}}
{{- if kindIs "map" $kc -}}
{{- range $f := $fields -}}
{{- $fv := index $kc $f -}}
{{- if and (kindIs "string" $fv) $fv (not (hasPrefix "env." $fv)) -}}
{{- $_ := set $kc $f (printf "env.%s" (include "bifrost.providerEnvName" (list $pname $i $f))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $cfg "providers" $providers -}}
{{- end -}}

{{- /* stores */ -}}
{{- $_ := set $cfg "config_store" (include "bifrost.storeConfig" (list . "config") | fromJson) -}}
{{- $_ := set $cfg "logs_store" (include "bifrost.storeConfig" (list . "logs") | fromJson) -}}

{{- /* encryption key: always from the environment */ -}}
{{- if or $b.encryptionKey ($b.encryptionKeySecret | default dict).name -}}
{{- $_ := set $cfg "encryption_key" "env.BIFROST_ENCRYPTION_KEY" -}}
{{- end -}}

{{- /* admin auth: credentials from the environment */ -}}
{{- $a := include "bifrost.authValues" . | fromJson -}}
{{- $hasCreds := or $a.existingSecret (and $a.adminUsername $a.adminPassword) -}}
{{- if or $hasCreds $a.isEnabled $a.disableAuthOnInference -}}
{{- $auth := dict "is_enabled" (default false $a.isEnabled) "disable_auth_on_inference" (default false $a.disableAuthOnInference) -}}
{{- if $hasCreds -}}
{{- $_ := set $auth "admin_username" "env.BIFROST_ADMIN_USERNAME" -}}
{{- $_ := set $auth "admin_password" "env.BIFROST_ADMIN_PASSWORD" -}}
{{- end -}}
{{- $_ := set $cfg "auth_config" $auth -}}
{{- end -}}

{{- /* governance: Bifrost's sections, passed through with snake_case names */ -}}
{{- $gv := $b.governance | default dict -}}
{{- $gov := dict -}}
{{- range $camel, $snake := dict "budgets" "budgets" "rateLimits" "rate_limits" "customers" "customers" "teams" "teams" "virtualKeys" "virtual_keys" "modelConfigs" "model_configs" "providers" "providers" "routingRules" "routing_rules" "pricingOverrides" "pricing_overrides" "businessUnits" "business_units" -}}
{{- if index $gv $camel }}{{ $_ := set $gov $snake (index $gv $camel) }}{{ end -}}
{{- end -}}
{{- if $gov }}{{ $_ := set $cfg "governance" $gov }}{{ end -}}

{{- /* MCP */ -}}
{{- $mcp := $b.mcp | default dict -}}
{{- if $mcp.enabled -}}
{{- $m := dict "client_configs" ($mcp.clientConfigs | default list) -}}
{{- $tm := $mcp.toolManagerConfig | default dict -}}
{{- if $tm -}}
{{- $t := dict -}}
{{- if $tm.toolExecutionTimeout }}{{ $_ := set $t "tool_execution_timeout" $tm.toolExecutionTimeout }}{{ end -}}
{{- if $tm.maxAgentDepth }}{{ $_ := set $t "max_agent_depth" $tm.maxAgentDepth }}{{ end -}}
{{- $_ := set $m "tool_manager_config" $t -}}
{{- end -}}
{{- $_ := set $cfg "mcp" $m -}}
{{- end -}}

{{- /* plugins: each enabled built-in, then custom ones */ -}}
{{- $plugins := list -}}
{{- $pl := $b.plugins | default dict -}}
{{- range $key, $name := dict "telemetry" "telemetry" "logging" "logging" "governance" "governance" "maxim" "maxim" "semanticCache" "semantic_cache" "otel" "otel" "datadog" "datadog" -}}
{{- $pv := index $pl $key | default dict -}}
{{- if $pv.enabled -}}
{{- $pc := deepCopy ($pv.config | default dict) -}}
{{- if and (eq $key "maxim") $pc.api_key (not (hasPrefix "env." (toString $pc.api_key))) -}}
{{- $_ := set $pc "api_key" "env.BIFROST_MAXIM_API_KEY" -}}
{{- else if and (eq $key "maxim") (($pv.secretRef | default dict).name) -}}
{{- $_ := set $pc "api_key" "env.BIFROST_MAXIM_API_KEY" -}}
{{- end -}}
{{- $plugins = append $plugins (dict "enabled" true "name" $name "config" $pc "version" (int (default 1 $pv.version))) -}}
{{- end -}}
{{- end -}}
{{- range $cp := ($pl.custom | default list) -}}
{{- $plugins = append $plugins $cp -}}
{{- end -}}
{{- if $plugins }}{{ $_ := set $cfg "plugins" $plugins }}{{ end -}}

{{- /* cluster */ -}}
{{- $cl := $b.cluster | default dict -}}
{{- if $cl.enabled -}}
{{- $_ := set $cfg "cluster_config" (include "bifrost.clusterConfig" . | fromJson) -}}
{{- end -}}

{{- /* enterprise sections Bifrost passes through when set */ -}}
{{- $lb := $b.loadBalancer | default dict -}}
{{- if $lb.enabled -}}
{{- $_ := set $cfg "load_balancer_config" (dict "enabled" true "tracker_config" ($lb.trackerConfig | default dict) "bootstrap" ($lb.bootstrap | default dict)) -}}
{{- end -}}
{{- $gr := $b.guardrails | default dict -}}
{{- if or $gr.rules $gr.providers -}}
{{- $_ := set $cfg "guardrails_config" (dict "guardrail_rules" ($gr.rules | default list) "guardrail_providers" ($gr.providers | default list)) -}}
{{- end -}}
{{- if $b.accessProfiles }}{{ $_ := set $cfg "access_profiles" $b.accessProfiles }}{{ end -}}
{{- toJson $cfg -}}
{{- end }}

{{/* config_store / logs_store for (list . "config"|"logs"). */}}
{{- define "bifrost.storeConfig" -}}
{{- $ := index . 0 -}}
{{- $which := index . 1 -}}
{{- $v := $.Values -}}
{{- $s := ternary $v.storage.configStore $v.storage.logsStore (eq $which "config") -}}
{{- $type := ternary (include "bifrost.configStoreType" $) (include "bifrost.logsStoreType" $) (eq $which "config") -}}
{{- if not $s.enabled -}}
{{- toJson (dict "enabled" false) -}}
{{- else if eq $type "sqlite" -}}
{{- toJson (dict "enabled" true "type" "sqlite" "config" (dict "path" (printf "%s/%s.db" (trimSuffix "/" $v.bifrost.appDir) $which))) -}}
{{- else -}}
{{- $pg := $v.postgresql -}}
{{- $c := dict -}}
{{- if $pg.external.enabled -}}
{{- $c = dict "host" $pg.external.host "port" (toString (default 5432 $pg.external.port | int)) "user" $pg.external.user "db_name" $pg.external.database "ssl_mode" $pg.external.sslMode -}}
{{- else -}}
{{- $c = dict "host" (printf "%s-postgresql" (include "bifrost.fullname" $)) "port" "5432" "user" $pg.auth.username "db_name" $pg.auth.database "ssl_mode" "disable" -}}
{{- end -}}
{{- if include "bifrost.postgresPasswordRef" $ -}}
{{- $_ := set $c "password" "env.BIFROST_POSTGRES_PASSWORD" -}}
{{- end -}}
{{- if $s.maxIdleConns }}{{ $_ := set $c "max_idle_conns" $s.maxIdleConns }}{{ end -}}
{{- if $s.maxOpenConns }}{{ $_ := set $c "max_open_conns" $s.maxOpenConns }}{{ end -}}
{{- toJson (dict "enabled" true "type" "postgres" "config" $c) -}}
{{- end -}}
{{- end }}

{{/* cluster_config: Bifrost's shape, with Kubernetes-friendly defaults for discovery. */}}
{{- define "bifrost.clusterConfig" -}}
{{- $cl := .Values.bifrost.cluster -}}
{{- $fullname := include "bifrost.fullname" . -}}
{{- $out := dict "enabled" true -}}
{{- if $cl.peers }}{{ $_ := set $out "peers" $cl.peers }}{{ end -}}
{{- if $cl.region }}{{ $_ := set $out "region" $cl.region }}{{ end -}}
{{- $g := $cl.gossip | default dict -}}
{{- $gc := $g.config | default dict -}}
{{- $_ := set $out "gossip" (dict "port" (int $g.port) "config" (dict "timeout_seconds" (int (default 10 $gc.timeoutSeconds)) "success_threshold" (int (default 3 $gc.successThreshold)) "failure_threshold" (int (default 3 $gc.failureThreshold)))) -}}
{{- if $cl.grpc -}}
{{- $_ := set $out "grpc" (dict "port" (int (default 10102 $cl.grpc.port)) "dial_timeout_seconds" (int (default 5 $cl.grpc.dialTimeoutSeconds))) -}}
{{- end -}}
{{- $d := $cl.discovery | default dict -}}
{{- if $d.enabled -}}
{{- $disc := dict "enabled" true "type" $d.type -}}
{{- if $d.serviceName }}{{ $_ := set $disc "service_name" $d.serviceName }}{{ end -}}
{{- if $d.bindPort }}{{ $_ := set $disc "bind_port" $d.bindPort }}{{ end -}}
{{- if $d.dialTimeout }}{{ $_ := set $disc "dial_timeout" $d.dialTimeout }}{{ end -}}
{{- if $d.allowedAddressSpace }}{{ $_ := set $disc "allowed_address_space" $d.allowedAddressSpace }}{{ end -}}
{{- if eq $d.type "kubernetes" -}}
{{- $_ := set $disc "k8s_namespace" (default .Release.Namespace $d.k8sNamespace) -}}
{{- $_ := set $disc "k8s_label_selector" (default (printf "app.kubernetes.io/name=%s,app.kubernetes.io/instance=%s" (include "bifrost.name" .) .Release.Name) $d.k8sLabelSelector) -}}
{{- end -}}
{{- if eq $d.type "dns" -}}
{{- $_ := set $disc "dns_names" (default (list (printf "%s-headless.%s.svc.cluster.local" $fullname .Release.Namespace)) $d.dnsNames) -}}
{{- end -}}
{{- if $d.udpBroadcastPort }}{{ $_ := set $disc "udp_broadcast_port" $d.udpBroadcastPort }}{{ end -}}
{{- if $d.consulAddress }}{{ $_ := set $disc "consul_address" $d.consulAddress }}{{ end -}}
{{- if $d.etcdEndpoints }}{{ $_ := set $disc "etcd_endpoints" $d.etcdEndpoints }}{{ end -}}
{{- if $d.mdnsService }}{{ $_ := set $disc "mdns_service" $d.mdnsService }}{{ end -}}
{{- $_ := set $out "discovery" $disc -}}
{{- end -}}
{{- toJson $out -}}
{{- end }}
