# bidagent daemon image.
#   docker build -t bidagent .
#   docker run -d --name bidagent -v bidagent-data:/data -p 127.0.0.1:8080:8080 \
#     --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
#     -e BIDAGENT_ADS__SOURCE=amazon -e BIDAGENT_ADS__CLIENT_ID=... \
#     -v "$PWD/secrets:/run/secrets:ro" bidagent
# The web console (and /healthz, /metrics) listens on 8080 on every interface of the container;
# publish it on the host's loopback as above and reach it through a TLS proxy or an SSH tunnel.
# Publishing on all interfaces (-p 8080:8080) puts the sign-in form on the network: only behind
# a firewall or a proxy (docs/console.md, "Binding"). BIDAGENT_CONSOLE__PORT=0 turns it off.
# Secrets come from the environment or /run/secrets (files like ads__refresh_token), never the image.
# tini is PID 1: it forwards SIGTERM to bidagent (which finishes the batch in flight and exits) and
# reaps zombies. Give `docker stop` a grace period longer than one batch: --stop-timeout 60.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md LICENSE ./
COPY bidagent ./bidagent
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 bidagent \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin bidagent \
    && mkdir -p /data /app \
    && chown 10001:10001 /data
COPY --from=builder /opt/venv /opt/venv
# Rules are read-only in the image; mount your own folder over /app/rules to change them.
COPY rules /app/rules
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BIDAGENT_DATABASE__URL=sqlite:////data/bidagent.db \
    BIDAGENT_RULES_DIR=/app/rules \
    BIDAGENT_CONSOLE__HOST=0.0.0.0 \
    BIDAGENT_CONSOLE__PORT=8080
WORKDIR /data
VOLUME /data
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
# `bidagent health`: exit 0 when the database answers and the last cycle is on schedule.
HEALTHCHECK --interval=60s --timeout=15s --start-period=120s --retries=3 CMD ["bidagent", "health"]
ENTRYPOINT ["/usr/bin/tini", "--", "bidagent"]
CMD ["run"]
