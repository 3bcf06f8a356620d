#!/bin/sh
# Fill the ${BROKER_<USER>_PASSWORD} placeholders of the definitions template from the environment,
# then run the given command (the image's own entrypoint). RabbitMQ imports the rendered file at boot
# (load_definitions in 20-celery-tasks.conf), which also means it never creates the guest user.
#
#   render-definitions.sh [command ...]
#   DEFINITIONS_TEMPLATE  template to read  (default /etc/rabbitmq/definitions.template.json)
#   DEFINITIONS_FILE      file to write     (default /run/rabbitmq-definitions/definitions.json)
#
# Passwords must be URL-safe ([A-Za-z0-9._~-], at least 12 characters) because the services put
# them in their amqp:// URLs; `openssl rand -hex 24` makes a good one.
set -eu

template=${DEFINITIONS_TEMPLATE:-/etc/rabbitmq/definitions.template.json}
target=${DEFINITIONS_FILE:-/run/rabbitmq-definitions/definitions.json}

script=""
for name in $(grep -o '[$][{][A-Z0-9_]*[}]' "$template" | tr -d '${}' | sort -u); do
    eval "value=\${$name:-}"
    case "$value" in
        "" | *[!A-Za-z0-9._~-]*)
            echo "render-definitions: $name must be set to a URL-safe password ([A-Za-z0-9._~-])" >&2
            exit 64
            ;;
    esac
    case "$value" in
        change-me*)
            echo "render-definitions: $name is still the placeholder of .env.example" >&2
            exit 64
            ;;
    esac
    if [ "${#value}" -lt 12 ]; then
        echo "render-definitions: $name is shorter than 12 characters" >&2
        exit 64
    fi
    script="$script
s|[\$][{]$name[}]|$value|g"
done

mkdir -p "$(dirname "$target")"
umask 077
sed "$script" "$template" > "$target.tmp"
if [ "$(id -u)" = 0 ] && id rabbitmq > /dev/null 2>&1; then
    chown rabbitmq:rabbitmq "$target.tmp"  # the image's entrypoint drops to this user
fi
mv "$target.tmp" "$target"

if [ "$#" -gt 0 ]; then
    exec "$@"
fi
