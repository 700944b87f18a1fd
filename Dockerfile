# syntax=docker/dockerfile:1
# host's Lambda layer built inside Amazon Linux 2023 (glibc 2.34) with Docker, for those who prefer
# it to `make layer` (no Docker: an old-glibc Debian root). Both run the same script,
# layer/build-inside.sh, on the same upstream sources (layer/sources.sh puts them in build/src),
# so they produce the same layout. Plus an image to smoke-test the layer through the base image's
# Runtime Interface Emulator (RIE).
#
#   make layer-docker           layer/build-docker.sh: stage `artifacts` -> dist/pythonX.Y/
#                               host-layer.zip, host-layer.json, functions/{hello,store}.zip
#   scripts/docker_smoke.sh     stage `smoke`: docker run -p 9000:8080, curl the RIE, check replies
#
# Stages:
#   build      compile OpenSSL, libcurl (HTTP only), CPython and host from source and assemble the
#              layer (layer/build-inside.sh, which fails unless every ELF object needs glibc <= 2.34
#              and finds its libraries in the layer: scripts/check_glibc.py), then run the
#              unpacked layer's hello with a clean environment
#   artifacts  just the zips, for `docker build --output`
#   smoke      provided:al2023 with the layer unpacked at /opt and the functions at /var/task
ARG BASE_IMAGE=public.ecr.aws/lambda/provided:al2023
ARG PYTHON_VERSION=3.13

FROM ${BASE_IMAGE} AS build
ARG PYTHON_VERSION
ARG PYTHON_TAR
ARG OPENSSL_TAR
ARG CURL_TAR
# What layer/buildroot.sh installs in the Debian root, under AL2023's names.
RUN dnf install -y gcc make binutils perl tar xz gzip findutils patch pkgconf-pkg-config \
        libffi-devel zlib-devel bzip2-devel xz-devel sqlite-devel libuuid-devel jansson-devel \
    && dnf clean all
WORKDIR /src
COPY Makefile ./
COPY host/ host/
COPY scripts/ scripts/
COPY tests/unit/ tests/unit/
COPY layer/ layer/
COPY pyhandlers/ pyhandlers/
COPY build/src/ build/src/
RUN PYTHON_TAR=${PYTHON_TAR} OPENSSL_TAR=${OPENSSL_TAR} CURL_TAR=${CURL_TAR} \
        WORK=/build OUT=dist/python${PYTHON_VERSION} GLIBC_MAX=2.34 bash layer/build-inside.sh \
    && /build/python${PYTHON_VERSION}/prefix/bin/python3 layer/mklayer.py unpack \
        dist/python${PYTHON_VERSION}/host-layer.zip /unpacked/opt \
    && /build/python${PYTHON_VERSION}/prefix/bin/python3 layer/mklayer.py unpack \
        dist/python${PYTHON_VERSION}/functions/hello.zip /unpacked/task \
    && /build/python${PYTHON_VERSION}/prefix/bin/python3 layer/mklayer.py unpack \
        dist/python${PYTHON_VERSION}/functions/store.zip /unpacked/task
# The unpacked layer must run on its own here, with a clean environment: a relocation mistake
# fails the build, not a deploy.
RUN echo '{"name": "layer"}' > /tmp/event.json \
    && env -i PATH=/usr/bin:/bin /unpacked/opt/bootstrap --local /tmp/event.json \
        --handler hello.lambda_handler --task-root /unpacked/task | grep -F 'Hello, layer!'

FROM scratch AS artifacts
COPY --from=build /src/dist/ /

FROM ${BASE_IMAGE} AS smoke
# What Lambda does with a layer and a function zip: unpack them at /opt and /var/task.
COPY --from=build /unpacked/opt/ /opt/
COPY --from=build /unpacked/task/ /var/task/
COPY tests/smoke/probe.py /var/task/probe.py
# The base image's entrypoint starts the RIE with /var/runtime/bootstrap (on Lambda a layer's
# /opt/bootstrap is found on its own). A symlink: /proc/self/exe is still /opt/bootstrap, so
# host still finds its Python home at /opt.
RUN mkdir -p /var/runtime && ln -sf /opt/bootstrap /var/runtime/bootstrap
CMD ["hello.lambda_handler"]
