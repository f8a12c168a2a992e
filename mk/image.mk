# mk/image.mk: the container image (Dockerfile).
#
#   make image          build it as $(IMAGE) with podman or docker
#                       (tools/container: docker when a daemon answers, else
#                       podman), in the Docker image format, which keeps the
#                       HEALTHCHECK; the base, debian:bookworm-slim, is pulled,
#                       or made from Debian's packages where no registry can
#                       be reached (tools/base-image)
#   make image-check    build it (the suite runs `make image`, and times it),
#                       run it against a private RabbitMQ and check it end to
#                       end, and a provider's image built on it
#                       (image-check/image.bats; its counts go to
#                       $HCA_TAP_TOTALS); CI runs it
#
# The build is bounded by IMAGE_BUILD_TIMEOUT (default 20m); IMAGE_BUILD_FLAGS
# go to the engine's build (image-check builds with --no-cache, so that its
# build log and build time are those of a real build).

IMAGE ?= hca-exec
IMAGE_BUILD_TIMEOUT ?= 20m
IMAGE_BUILD_FLAGS ?=

image: deps
	@tools/deps -n image >/dev/null 2>&1 || tools/deps image
	tools/base-image
	timeout -k 30 $(IMAGE_BUILD_TIMEOUT) tools/container build \
	    --network host $(IMAGE_BUILD_FLAGS) -t $(IMAGE) .

image-check: deps
	@tools/deps -n image >/dev/null 2>&1 || tools/deps image
	$(MAKE) all
	HCA_IMAGE=$(IMAGE) HCA_EXEC=$(CURDIR)/$(B)/hca-exec \
	    tools/runtests image-check

.PHONY: image image-check
