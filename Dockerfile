# syntax=docker/dockerfile:1
# host's deployable Lambda layer, built on Amazon Linux 2023 (glibc 2.34) from AL2023's own
# python3.11 packages, plus an image to smoke-test it through the base image's Runtime Interface
# Emulator (RIE).
#
#   make layer                  layer/build-docker.sh: stage `artifacts` -> dist/host-layer.zip,
#                               dist/host-layer.json, dist/functions/{hello,store}.zip
#   scripts/docker_smoke.sh     stage `smoke`: docker run -p 9000:8080, curl the RIE, check replies
#
# Stages:
#   build      compile host against AL2023's python3.11, assemble the layer with the same script
#              as `make layer-native` (layer/build-native.sh), and fail unless every ELF object in
#              it needs glibc <= 2.34 and finds its libraries in the layer (scripts/check_glibc.py)
#              and the unpacked layer runs hello with a clean environment
#   artifacts  just the zips, for `docker build --output`
#   smoke      provided:al2023 with the layer unpacked at /opt and the functions at /var/task
ARG BASE_IMAGE=public.ecr.aws/lambda/provided:al2023
ARG PYTHON_VERSION=3.11

FROM ${BASE_IMAGE} AS build
ARG PYTHON_VERSION
# The base image has curl-minimal/libcurl-minimal; libcurl-devel builds against that libcurl.
RUN dnf install -y gcc make binutils pkgconf-pkg-config grep \
        python${PYTHON_VERSION} python${PYTHON_VERSION}-devel python${PYTHON_VERSION}-pip \
        libcurl-devel jansson-devel \
    && dnf clean all
WORKDIR /src
COPY Makefile ./
COPY host/ host/
COPY scripts/ scripts/
COPY tests/unit/ tests/unit/
RUN make PYTHON=/usr/bin/python${PYTHON_VERSION} all \
    && ./build/host --version
# boto3 goes to the layer's python/ folder (/opt/python), as the managed python runtimes ship it.
RUN python${PYTHON_VERSION} -m pip install --no-cache-dir --target /packages boto3
COPY layer/ layer/
COPY pyhandlers/ pyhandlers/
RUN PYTHON=/usr/bin/python${PYTHON_VERSION} LAYER_NAME=host-layer PACKAGES_FROM=/packages \
        PACKAGES=all GLIBC_ENFORCE=1 GLIBC_MAX=2.34 bash layer/build-native.sh \
    && python${PYTHON_VERSION} layer/mklayer.py unpack dist/host-layer.zip /unpacked/opt \
    && python${PYTHON_VERSION} layer/mklayer.py unpack dist/functions/hello.zip /unpacked/task \
    && python${PYTHON_VERSION} layer/mklayer.py unpack dist/functions/store.zip /unpacked/task
# The unpacked layer must run on its own here, with a clean environment: a relocation mistake
# (e.g. CPython looking for lib64/python3.11, AL2023's platlibdir) fails the build, not a deploy.
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
