# Realtime: multi-stage build on Debian 12. The runtime image holds rtserver, rtadmin and the
# migrations, runs as an unprivileged user and carries only the shared libraries they need.
FROM debian:12-slim AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config libwebsockets-dev libuv1-dev libpq-dev libhiredis-dev \
        libjansson-dev libsodium-dev libjwt-dev libssl-dev libcurl4-openssl-dev uthash-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY server ./server
COPY cli ./cli
COPY tests ./tests
COPY migrations ./migrations
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build /build --target rtserver rtadmin -j"$(nproc)"

FROM debian:12-slim AS runtime
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libwebsockets17 libuv1 libpq5 libhiredis0.14 libjansson4 libsodium23 libjwt0 \
        libssl3 libcurl4 ca-certificates curl openssl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin realtime
COPY --from=build /build/rtserver /build/rtadmin /usr/local/bin/
COPY migrations /usr/share/realtime/migrations
ENV RT_HOST=0.0.0.0 RT_PORT=6001 RT_MIGRATIONS_DIR=/usr/share/realtime/migrations
# The master key is not baked in or passed as a variable: mount it as a file readable by uid
# 10001 only and set RT_MASTER_KEY_FILE (docker-compose.yml uses /run/secrets/master_key).
USER realtime
EXPOSE 6001
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:6001/ready || exit 1
ENTRYPOINT ["/usr/local/bin/rtserver"]
