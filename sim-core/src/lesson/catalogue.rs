//! The article's catalogue of mistakes, row by row.

/// Every row of the anti-pattern catalogue: (id, article section, title).
pub const CATALOGUE: &[(&str, &str, &str)] = &[
    (
        "ARCH-MONOLITH",
        "Architecture and design (article section 1)",
        "monolith scaled as one unit",
    ),
    (
        "ARCH-CHATTY-MICRO",
        "Architecture and design (article section 1)",
        "premature microservices",
    ),
    (
        "ARCH-SPOF",
        "Architecture and design (article section 1)",
        "single point of failure",
    ),
    (
        "ARCH-STICKY",
        "Architecture and design (article section 1)",
        "sticky sessions, stateful nodes",
    ),
    ("DATA-N+1", "Data layer (section 2)", "N+1 queries"),
    ("DATA-NO-INDEX", "Data layer (section 2)", "missing index"),
    (
        "DATA-UNBOUNDED",
        "Data layer (section 2)",
        "unbounded result sets, no pagination",
    ),
    (
        "DATA-LONG-TX",
        "Data layer (section 2)",
        "long transactions and locks",
    ),
    (
        "DATA-NO-REPLICAS",
        "Data layer (section 2)",
        "single primary for all reads",
    ),
    (
        "DATA-LOOP-CALLS",
        "Data layer (section 2)",
        "synchronous remote calls in a tight loop",
    ),
    ("CACHE-NONE", "Caching (section 3)", "no caching"),
    (
        "CACHE-STALE",
        "Caching (section 3)",
        "cache-aside without invalidation",
    ),
    (
        "CACHE-PER-USER",
        "Caching (section 3)",
        "caching unique per-user data",
    ),
    (
        "CACHE-BIG-OBJECTS",
        "Caching (section 3)",
        "large objects / whole sessions in one key",
    ),
    (
        "CACHE-TTL-ONLY",
        "Caching (section 3)",
        "relying on TTL alone",
    ),
    (
        "CACHE-STAMPEDE",
        "Caching (section 3)",
        "expiry or flush under load",
    ),
    (
        "CONC-BLOCKING-LOOP",
        "Concurrency and resources (section 4)",
        "blocking the event loop",
    ),
    (
        "CONC-POOL-EXHAUSTION",
        "Concurrency and resources (section 4)",
        "exhausted thread or connection pool",
    ),
    (
        "CONC-NO-TIMEOUT",
        "Concurrency and resources (section 4)",
        "no timeouts, no circuit breaker",
    ),
    (
        "CONC-UNBOUNDED",
        "Concurrency and resources (section 4)",
        "unlimited concurrency",
    ),
    (
        "API-CHATTY",
        "API and traffic (section 5)",
        "many small calls",
    ),
    (
        "API-BIG-PAYLOAD",
        "API and traffic (section 5)",
        "large payloads, no compression or streaming",
    ),
    (
        "API-NO-RATE-LIMIT",
        "API and traffic (section 5)",
        "no rate limiting",
    ),
    (
        "OPS-NO-AUTOSCALE",
        "Operations and infrastructure (section 6)",
        "no or badly tuned autoscaling",
    ),
    (
        "OPS-SLOW-DEPLOY",
        "Operations and infrastructure (section 6)",
        "slow builds and deploys",
    ),
    (
        "OPS-LIMITS",
        "Operations and infrastructure (section 6)",
        "wrong container limits",
    ),
    (
        "OPS-NO-IAC",
        "Operations and infrastructure (section 6)",
        "infrastructure not as code",
    ),
    (
        "OBS-AVERAGES",
        "Observability and testing (section 7)",
        "no percentiles / tracing",
    ),
    (
        "OBS-NO-LOADTEST",
        "Observability and testing (section 7)",
        "no load testing",
    ),
    (
        "OBS-UNREALISTIC",
        "Observability and testing (section 7)",
        "unrealistic tests",
    ),
    (
        "SEC-SYNC-AUTH",
        "Security and third parties (section 8)",
        "synchronous external auth per request",
    ),
    (
        "SEC-HEAVY-CRYPTO",
        "Security and third parties (section 8)",
        "heavy crypto per request",
    ),
    (
        "SEC-3P-NO-FALLBACK",
        "Security and third parties (section 8)",
        "third-party outage without degradation",
    ),
    (
        "DIST-2PC",
        "Distributed systems (section 9)",
        "distributed transactions",
    ),
    (
        "DIST-GLOBAL-LOCK",
        "Distributed systems (section 9)",
        "distributed locks, global coordination",
    ),
    (
        "DIST-SYNC-COUPLING",
        "Distributed systems (section 9)",
        "tight synchronous coupling",
    ),
    (
        "EVT-UNBOUNDED-QUEUE",
        "Event-driven systems (section 10)",
        "unbounded backlog",
    ),
    (
        "EVT-NO-PARALLELISM",
        "Event-driven systems (section 10)",
        "no consumer parallelism, hot partition",
    ),
    (
        "EVT-POISON",
        "Event-driven systems (section 10)",
        "poison message without DLQ",
    ),
    (
        "RES-RETRY-STORM",
        "Resilience patterns (mitigation section)",
        "retries without backoff or jitter",
    ),
    (
        "RES-NO-IDEMPOTENCY",
        "Resilience patterns (mitigation section)",
        "retrying unsafe operations",
    ),
    (
        "RES-NO-BULKHEAD",
        "Resilience patterns (mitigation section)",
        "no bulkheads",
    ),
    (
        "RES-NO-HEALTHCHECK",
        "Resilience patterns (mitigation section)",
        "no health checks, abrupt shutdown",
    ),
    (
        "THEORY-KNEE",
        "Theory (key concepts section)",
        "utilisation vs latency",
    ),
    (
        "THEORY-LITTLE",
        "Theory (key concepts section)",
        "Little's law",
    ),
    (
        "THEORY-AMDAHL",
        "Theory (key concepts section)",
        "Amdahl's law",
    ),
    (
        "THEORY-FANOUT",
        "Theory (key concepts section)",
        "tail at scale",
    ),
    (
        "THEORY-CAP",
        "Theory (key concepts section)",
        "CAP, ACID vs BASE",
    ),
];
