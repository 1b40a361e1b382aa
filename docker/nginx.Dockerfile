# SPDX-License-Identifier: Apache-2.0
# The demo's edge: Debian's nginx with docker/nginx.conf, in front of the gateway (see
# docker/docker-compose.yml). Build context: the repository root.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/ctx-nginx/tmp
COPY docker/nginx.conf /etc/nginx/ctx-demo.conf
# SIGQUIT: nginx finishes the requests in flight, then exits.
STOPSIGNAL SIGQUIT
CMD ["nginx", "-p", "/var/lib/ctx-nginx/", "-c", "/etc/nginx/ctx-demo.conf", "-e", "stderr"]
