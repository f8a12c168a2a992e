# hca-exec in a container: the agent is PID 1 and runs the hooks in
# /opt/hca/hooks.  Build it, and every image built on it, in the Docker
# image format: the OCI format has no HEALTHCHECK, and podman, which builds
# OCI images by default, drops the health check below without a word (so
# does `buildah bud`).  `make image` does this with podman or docker:
#
#   docker build -t hca-exec .
#   podman build --format docker -t hca-exec .
#
# A provider builds FROM this image, replaces the sample hooks with theirs
# (owned by root, not writable by hca) and adds what the hooks need:
#
#   FROM hca-exec
#   USER root
#   RUN rm -rf /opt/hca/hooks && apt-get update \
#       && apt-get install -y --no-install-recommends curl \
#       && rm -rf /var/lib/apt/lists/*
#   COPY --chmod=755 hooks/ /opt/hca/hooks/
#   USER 10001:10001
#
# (`make image-check` builds exactly these lines, with podman --format
# docker, and checks the health check survives.)  Configuration is HCA_*
# variables only (hca-exec(8)); the broker URL, a secret, goes in a file
# rather than the environment, which docker inspect shows:
#
#   docker run -d --name hca --stop-timeout 330 \
#       -e HCA_SERVICE=my-service -e HCA_URL_FILE=/run/secrets/hca_url \
#       -v /etc/hca/hca_url:/run/secrets/hca_url:ro \
#       -v hca-state:/var/lib/hca-exec hca-exec
#
# (podman run takes the same options, --stop-timeout included.)  The file
# must be readable by uid 10001 (chown 10001, mode 400).  In compose:
# `secrets: [hca_url]`, `HCA_URL_FILE: /run/secrets/hca_url`,
# `stop_grace_period: 330s`.
#
# What hooks can read: they run as uid 10001 too, so they can read that
# file.  To keep the secret from them, start the container as root and let
# hca-exec become hca after it has read the URL, with the file root's:
#
#   docker run ... --user 0 -e HCA_USER=hca \
#       -v /etc/hca/hca_url:/run/secrets/hca_url:ro ...   # mode 400, root's
#
# (HCA_URL in the environment never reaches a hook either, but docker
# inspect shows it.)  hca-exec warns at start when hooks can read the file.
# On SIGTERM hca-exec lets running hooks finish for up to HCA_STOP_TIMEOUT
# (default 315 s): give `docker stop` at least that long, or lower
# HCA_HOOK_TIMEOUT.  No init process is needed: hca-exec is a child
# subreaper and reaps whatever its hooks leave behind.

FROM debian:bookworm-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make pkg-config \
       librabbitmq-dev libjq-dev libbsd-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY mk/ mk/
COPY src/ src/
COPY man/ man/
COPY hooks/ hooks/
COPY share/ share/
RUN make \
    && make install DESTDIR=/out PREFIX=/usr/local \
    && strip --strip-unneeded /out/usr/local/bin/hca-exec /out/usr/local/bin/hca-portal

FROM debian:bookworm-slim
# The libraries hca-exec and hca-portal link (tests/install.bats checks this
# list against ldd), and for hooks: jq, since every hook has JSON to read
# and the sample hooks use it, and ca-certificates, the CA bundle that amqps
# verifies the broker against by default and that hooks' HTTPS calls need.
# Nothing else: curl, python3 and the like are up to the provider's image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       librabbitmq4 libssl3 libjq1 libonig5 libbsd0 libmd0 \
       jq ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A user of its own (numeric, so that Kubernetes' runAsNonRoot can check it);
# its home is the state directory.  Not a --system user: useradd warns about
# a system uid above SYS_UID_MAX (999), and 10001 is the usual container
# uid, above the host's users.  The hooks stay root's: hca-exec runs hooks
# owned by root or by itself, and hca cannot change them.
RUN groupadd --gid 10001 hca \
    && useradd --uid 10001 --gid hca --no-log-init \
       --home-dir /var/lib/hca-exec --no-create-home \
       --shell /usr/sbin/nologin hca \
    && install -d -o hca -g hca -m 750 /var/lib/hca-exec
COPY --from=build /out/usr/local/bin/ /usr/local/bin/
COPY --from=build /out/usr/local/share/hca-exec/hooks/ /opt/hca/hooks/
WORKDIR /opt/hca
# The daemon's state for the health check goes in the state directory
# (the journal leaves it alone): that directory is writable wherever the
# container runs, where /run may not be (podman --read-only mounts an empty
# tmpfs of root's over /run; docker --read-only leaves it read-only).  Agents
# that share one state volume each need a file of their own: give each its
# own HCA_STATUS_FILE (-e HCA_STATUS_FILE=/var/lib/hca-exec/status-NAME).
ENV HCA_HOOKS_DIR=/opt/hca/hooks \
    HCA_STATE_DIR=/var/lib/hca-exec \
    HCA_STATUS_FILE=/var/lib/hca-exec/status \
    HCA_LOG_FORMAT=json \
    LANG=C.UTF-8
USER 10001:10001
STOPSIGNAL SIGTERM
# Healthy when the daemon is: hca-exec --health reads the status file the
# daemon keeps (HCA_STATUS_FILE) and says healthy when the daemon, alive,
# consumes its queue (or has been reconnecting for less than
# HCA_HEALTH_GRACE, 300 s) and the PingV1 hook, run as the daemon would run
# it for the broker's PingV1, succeeds (hca-exec(8), HEALTH).  It talks to
# no broker (a round trip through the broker could be answered by another
# agent on the same queue) and stays away from the daemon's URL, journal,
# log file and metrics file.  It exits 1 when unhealthy, and 2 on a usage
# error, which means something else to Docker, hence `|| exit 1`.  The
# format matters: an OCI image (podman's default) has no HEALTHCHECK.
HEALTHCHECK --interval=30s --timeout=15s --start-period=10s --retries=3 \
    CMD hca-exec --health || exit 1
ENTRYPOINT ["hca-exec"]
