{{/*
Impossible or unsafe combinations of values. Each message says what is wrong and how to fix it.
Included once, from the gateway workload template (StatefulSet or Deployment).
*/}}
{{- define "bifrost.validate" -}}
{{- $v := .Values -}}
{{- $b := $v.bifrost -}}
{{- $p := $v.storage.persistence -}}
{{- $sqlite := include "bifrost.usesSqlite" . -}}
{{- $cluster := $b.cluster.enabled -}}
{{- $replicas := int (default 1 $v.replicaCount) -}}

{{- if and $sqlite (not $cluster) $v.autoscaling.enabled -}}
{{- fail "ERROR: autoscaling.enabled with SQLite storage needs bifrost.cluster.enabled=true: each replica would keep its own config.db and logs.db, so keys, budgets and logs would differ per pod. Use storage.mode=postgres (postgresql.enabled=true or postgresql.external.enabled=true), or enable cluster mode." -}}
{{- end -}}
{{- if and $sqlite (not $cluster) (gt $replicas 1) -}}
{{- fail (printf "ERROR: replicaCount=%d with SQLite storage needs bifrost.cluster.enabled=true: each replica would keep its own config.db and logs.db. Use storage.mode=postgres for several replicas, enable cluster mode, or set replicaCount=1." $replicas) -}}
{{- end -}}
{{- if and $sqlite $p.enabled $p.existingClaim (or (gt $replicas 1) $v.autoscaling.enabled $cluster) -}}
{{- fail (printf "ERROR: storage.persistence.existingClaim (%s) is one volume shared by every replica; with accessMode %s only one pod can mount it, and SQLite must not be shared between processes. Use replicaCount=1 without autoscaling or cluster mode, or drop existingClaim so each pod gets its own volume (StatefulSet), or use storage.mode=postgres." $p.existingClaim (default "ReadWriteOnce" $p.accessMode)) -}}
{{- end -}}
{{- if and (not $sqlite) $p.existingClaim (ne $v.storage.mode "sqlite") -}}
{{- fail "ERROR: storage.persistence.existingClaim is only used with SQLite storage (storage.mode=sqlite); remove it, or set storage.mode=sqlite." -}}
{{- end -}}

{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) -}}
{{- fail (printf "ERROR: autoscaling.minReplicas (%d) is greater than autoscaling.maxReplicas (%d); lower minReplicas or raise maxReplicas." (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) -}}
{{- end -}}

{{- if include "bifrost.usesPostgres" . -}}
{{- $pg := $v.postgresql -}}
{{- if and $pg.enabled $pg.external.enabled -}}
{{- fail "ERROR: postgresql.enabled (embedded PostgreSQL) and postgresql.external.enabled are both true; keep one: the embedded database for a self-contained install, or external for a managed database." -}}
{{- end -}}
{{- if not (or $pg.enabled $pg.external.enabled) -}}
{{- fail "ERROR: PostgreSQL storage is selected (storage.mode or storage.configStore/logsStore.type is postgres) but no database is: set postgresql.enabled=true for an embedded PostgreSQL, or postgresql.external.enabled=true with postgresql.external.host." -}}
{{- end -}}
{{- if $pg.external.enabled -}}
{{- if not $pg.external.host -}}
{{- fail "ERROR: postgresql.external.host is required when using external PostgreSQL (e.g., --set postgresql.external.host=my-db.example.internal)." -}}
{{- end -}}
{{- if not $pg.external.database -}}
{{- fail "ERROR: postgresql.external.database is required when using external PostgreSQL (e.g., bifrost); create it with ENCODING 'UTF8'." -}}
{{- end -}}
{{- if not $pg.external.user -}}
{{- fail "ERROR: postgresql.external.user is required when using external PostgreSQL." -}}
{{- end -}}
{{- if not $pg.external.sslMode -}}
{{- fail "ERROR: postgresql.external.sslMode is required when using external PostgreSQL. Values: disable, allow, prefer, require, verify-ca, verify-full" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- if and $b.encryptionKey ($b.encryptionKeySecret | default dict).name -}}
{{- fail "ERROR: bifrost.encryptionKey and bifrost.encryptionKeySecret.name are both set; keep one (the existing Secret is preferred, and the key must never change once data is encrypted)." -}}
{{- end -}}

{{- $auth := include "bifrost.authValues" . | fromJson -}}
{{- if and $auth.isEnabled (not $auth.existingSecret) (not (and $auth.adminUsername $auth.adminPassword)) -}}
{{- fail "ERROR: bifrost.authConfig.isEnabled is true but no admin credentials are set: set bifrost.authConfig.existingSecret (keys username/password), or adminUsername and adminPassword." -}}
{{- end -}}

{{- range $name, $s := ($b.providerSecrets | default dict) -}}
{{- if and (kindIs "map" $s) $s.existingSecret (not $s.envVar) -}}
{{- fail (printf "ERROR: bifrost.providerSecrets.%s.envVar is required with existingSecret: it names the env var that the provider's key references (e.g., envVar: %s_API_KEY, and \"value\": \"env.%s_API_KEY\" in bifrost.providers.%s.keys)." $name (upper $name) (upper $name) $name) -}}
{{- end -}}
{{- end -}}

{{- if $cluster -}}
{{- if not (($b.cluster.gossip | default dict).port) -}}
{{- fail "ERROR: bifrost.cluster.gossip.port is required when cluster mode is enabled (Bifrost's default: 7946)." -}}
{{- end -}}
{{- $d := $b.cluster.discovery | default dict -}}
{{- if $d.enabled -}}
{{- if not $d.type -}}
{{- fail "ERROR: bifrost.cluster.discovery.type is required when cluster discovery is enabled. Supported types: kubernetes, dns, udp, consul, etcd, mdns" -}}
{{- end -}}
{{- if and (has $d.type (list "consul" "etcd" "udp")) (not $d.serviceName) -}}
{{- fail "ERROR: bifrost.cluster.discovery.serviceName is required for consul/etcd/udp discovery." -}}
{{- end -}}
{{- if and (eq $d.type "kubernetes") $v.rbac.podDiscovery.enabled (not $v.serviceAccount.create) (not $v.serviceAccount.name) -}}
{{- fail "ERROR: rbac.podDiscovery.enabled requires either serviceAccount.create=true or an explicit serviceAccount.name when serviceAccount.create=false." -}}
{{- end -}}
{{- else if not $b.cluster.peers -}}
{{- fail "ERROR: bifrost.cluster.enabled needs a way to find peers: set bifrost.cluster.discovery.enabled=true with type kubernetes (recommended on Kubernetes), or list bifrost.cluster.peers (e.g., bifrost-0.bifrost-headless:7946)." -}}
{{- end -}}
{{- end -}}

{{- if and $v.migrations.job.enabled (not (include "bifrost.usesPostgres" .)) -}}
{{- fail "ERROR: migrations.job.enabled needs PostgreSQL storage: SQLite files live on each pod's own volume, and `bifrost serve` migrates them at start. Set migrations.job.enabled=false, or storage.mode=postgres." -}}
{{- end -}}

{{- if and ($v.vectorStore | default dict).enabled (ne (toString $v.vectorStore.type) "none") -}}
{{- fail "ERROR: vectorStore.enabled: vector stores (semantic cache) are not implemented by Bifrost for Python yet. Set vectorStore.enabled=false." -}}
{{- end -}}
{{- if ($b.scim | default dict).enabled -}}
{{- fail "ERROR: bifrost.scim.enabled: SCIM is not implemented by Bifrost for Python yet. Set bifrost.scim.enabled=false." -}}
{{- end -}}

{{- if and $v.ingress.enabled (not $v.ingress.hosts) -}}
{{- fail "ERROR: ingress.enabled needs at least one entry in ingress.hosts (e.g., [{host: bifrost.example.com, paths: [{path: /, pathType: Prefix}]}])." -}}
{{- end -}}
{{- if and $v.httproute.enabled (not $v.httproute.parentRefs) -}}
{{- fail "ERROR: httproute.enabled needs httproute.parentRefs naming your Gateway (e.g., [{name: my-gateway, namespace: gateway-system}])." -}}
{{- end -}}
{{- if and $v.podDisruptionBudget.enabled $v.podDisruptionBudget.minAvailable $v.podDisruptionBudget.maxUnavailable -}}
{{- fail "ERROR: podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable are both set; Kubernetes accepts one. Set the other to \"\"." -}}
{{- end -}}
{{- end }}
