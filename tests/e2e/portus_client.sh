#!/usr/bin/env bash
# A Portus API v1 client, written the way Portus's own clients call it, to run unchanged against
# Portus or Wharfinger. Every call names its source:
#   [portusctl]  openSUSE/portusctl: http.go (PORTUS-AUTH "user:token" header and
#                Content-Type: application/json on every request), resource.go (paths, which
#                bodies are wrapped: only users as {"user": {...}}), cli.go (an application
#                token's owner id goes in the path), bootstrap.go, health.go, version.go,
#                test/*.bats (the calls its integration tests make against a live Portus)
#   [portus]     SUSE/Portus lib/api/v1/*.rb (Grape params: `requires :team, type: Hash` means
#                a {"team": {...}} body, plain `requires :name` a flat one; POST answers 201)
#   [pagination] SUSE/Portus lib/api/helpers/pagination.rb (page, per_page; X-Total,
#                X-Total-Pages, X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, Link)
#
# Usage: PORTUS_URL=http://host:port REGISTRY_HOSTNAME=host:port OUT=dir portus_client.sh
# It needs an instance without users (it bootstraps the first admin). Each call's status,
# headers and body go to $OUT/transcript.jsonl (one JSON object per call); the script stops at
# the first unexpected status, as a script run by cron would.
set -euo pipefail

: "${PORTUS_URL:?set PORTUS_URL}" "${REGISTRY_HOSTNAME:?set REGISTRY_HOSTNAME}" "${OUT:?set OUT}"
mkdir -p "$OUT"
TRANSCRIPT="$OUT/transcript.jsonl"
: > "$TRANSCRIPT"
AUTH=""
STEP=0

# call STEP_NAME EXPECTED_STATUS METHOD PATH [JSON_BODY]: one request as portusctl builds it.
call() {
    local name=$1 expected=$2 method=$3 path=$4 body=${5:-}
    STEP=$((STEP + 1))
    local headers="$OUT/$STEP.headers" response="$OUT/$STEP.body"
    local args=(-sS -X "$method" -D "$headers" -o "$response" -w '%{http_code}'
                -H "Content-Type: application/json")
    [ -n "$AUTH" ] && args+=(-H "PORTUS-AUTH: $AUTH")
    [ -n "$body" ] && args+=(--data "$body")
    local status
    status=$(curl "${args[@]}" "$PORTUS_URL$path")
    jq -cn --arg step "$name" --arg method "$method" --arg path "$path" \
        --argjson status "$status" --rawfile headers "$headers" --rawfile body "$response" \
        '{step: $step, method: $method, path: $path, status: $status,
          headers: ($headers | split("\r\n") | map(select(test(": ")))
                    | map(capture("^(?<k>[^:]+): (?<v>.*)$")) | map({(.k | ascii_downcase): .v})
                    | add),
          body: ($body | try fromjson catch null)}' >> "$TRANSCRIPT"
    if [ "$status" != "$expected" ]; then
        echo "portus_client: $name: $method $path answered $status, expected $expected:" >&2
        cat "$response" >&2
        exit 1
    fi
    echo "ok $name"
}

# last BODY_JQ_FILTER: a value from the last response body.
last() { jq -r "$1" "$OUT/$STEP.body"; }

# -- health, without credentials ----------------------------------------------------------------
call ping 200 GET /api/v1/_ping                                      # [portus] v1/health.rb
call health 200 GET /api/v1/health                                   # [portusctl] health.go

# -- the first admin ----------------------------------------------------------------------------
# [portus] users.rb `post "/bootstrap"` with `requires :user, type: Hash`; [portusctl] bootstrap.go
call bootstrap 201 POST /api/v1/users/bootstrap \
    '{"user": {"username": "admin", "email": "admin@example.org", "password": "an admin password"}}'
TOKEN=$(last .plain_token)
AUTH="admin:not-the-token"
call wrong_token 401 GET /api/v1/users                 # [portusctl] http.go handleCode: 401
AUTH="admin:$TOKEN"
call version 200 GET /api/version                      # [portusctl] version.go

# -- the registry (admins) ----------------------------------------------------------------------
# [portusctl] resource.go: registries support get and validate; validate is a GET whose query
# is name, hostname, external_hostname, use_ssl, only ([portus] registries.rb `get "/validate"`)
call registry_validate 200 GET \
    "/api/v1/registries/validate?name=main&hostname=$REGISTRY_HOSTNAME&use_ssl=false"
# [portus] registries.rb `post` with `requires :registry, type: Hash`
call registry_create 201 POST /api/v1/registries \
    "{\"registry\": {\"name\": \"main\", \"hostname\": \"$REGISTRY_HOSTNAME\", \"use_ssl\": false}}"
REGISTRY_ID=$(last .id)
call registries 200 GET /api/v1/registries
call registry_update 200 PUT "/api/v1/registries/$REGISTRY_ID" \
    '{"registry": {"external_hostname": "registry.example.org"}}'

# -- users (admins) -----------------------------------------------------------------------------
# [portusctl] resource.go: users are the one bundled resource ({"user": {...}}); test/users.bats
call user_create 201 POST /api/v1/users \
    '{"user": {"username": "alice", "email": "alice@example.org", "password": "alice password 1"}}'
ALICE=$(last .id)
call user_create_second 201 POST /api/v1/users \
    '{"user": {"username": "bob", "email": "bob@example.org", "password": "bob password 12"}}'
BOB=$(last .id)
# [portus] users.rb: `optional :all, only: %i[display_name bot]` (a bot still sends a password)
call bot_create 201 POST /api/v1/users \
    '{"user": {"username": "ci-bot", "email": "ci@example.org", "password": "bot password 12", "bot": true}}'
BOT=$(last .id)
call users_page 200 GET "/api/v1/users?page=1&per_page=2"               # [pagination]
call users_all 200 GET "/api/v1/users?all=true&sort_attr=username&sort_order=desc"
call user_show 200 GET "/api/v1/users/$ALICE"                            # [portusctl] get users 1
call user_by_email 200 GET "/api/v1/users/alice@example.org"     # [portus] users.rb id or email
# [portusctl] update: PUT /api/v1/users/<id> with the bundled body
call user_update 200 PUT "/api/v1/users/$ALICE" '{"user": {"display_name": "Alice A."}}'

# -- application tokens -------------------------------------------------------------------------
# [portusctl] cli.go: `create application_token id=N application=x` puts N in the path and
# posts {"application": "x"} flat; test/application_tokens.bats
call bot_token_create 201 POST "/api/v1/users/$BOT/application_tokens" '{"application": "deploy"}'
BOT_TOKEN=$(last .id)
call bot_tokens 200 GET "/api/v1/users/$BOT/application_tokens"
# [portusctl] delete: DELETE /api/v1/users/application_tokens/<id> (prefix "users")
call bot_token_delete 204 DELETE "/api/v1/users/application_tokens/$BOT_TOKEN"
call own_token_create 201 POST "/api/v1/users/1/application_tokens" '{"application": "laptop"}'

# -- teams --------------------------------------------------------------------------------------
# [portusctl] resource.go: teams are not bundled: POST {"name", "description"}; test/teams.bats
call team_create 201 POST /api/v1/teams '{"name": "qa", "description": "Quality"}'
QA=$(last .id)
call team_create_second 201 POST /api/v1/teams '{"name": "ops"}'
OPS=$(last .id)
call teams 200 GET "/api/v1/teams?page=1&per_page=10"
call team_show 200 GET "/api/v1/teams/$QA"
# [portus] teams.rb `put ":id"` with `requires :team, type: Hash`
call team_update 200 PUT "/api/v1/teams/$QA" '{"team": {"description": "Quality assurance"}}'
# [portus] teams.rb members: POST {"user": <username>, "role"}; PUT/DELETE ":member_id", where
# the member id is the `id` the POST answered
call member_add 201 POST "/api/v1/teams/$QA/members" '{"user": "alice", "role": "viewer"}'
ALICE_MEMBER=$(last .id)
call member_add_second 201 POST "/api/v1/teams/$QA/members" '{"user": "bob", "role": "viewer"}'
BOB_MEMBER=$(last .id)
call member_role 200 PUT "/api/v1/teams/$QA/members/$ALICE_MEMBER" '{"role": "contributor"}'
call members 200 GET "/api/v1/teams/$QA/members"
call member_remove 204 DELETE "/api/v1/teams/$QA/members/$BOB_MEMBER"

# -- namespaces ---------------------------------------------------------------------------------
# [portusctl] resource.go: namespaces are not bundled: POST {"name", "team", "description"};
# test/teams.bats "create a namespace inside of a new team"
call namespace_create 201 POST /api/v1/namespaces \
    '{"name": "qa-apps", "team": "qa", "description": "Apps under test"}'
NS=$(last .id)
call namespace_validate 200 GET "/api/v1/namespaces/validate?name=qa-apps"   # [portusctl]
call namespaces 200 GET "/api/v1/namespaces?page=1&per_page=2"               # [pagination]
call namespace_show 200 GET "/api/v1/namespaces/$NS"
call namespace_repositories 200 GET "/api/v1/namespaces/$NS/repositories"
call team_namespaces 200 GET "/api/v1/teams/$QA/namespaces"        # [portusctl] get teams 2 n
# [portus] namespaces.rb `put ":id"` with `requires :namespace, type: Hash` (name, description,
# team, visibility)
call namespace_visibility 200 PUT "/api/v1/namespaces/$NS" \
    '{"namespace": {"visibility": "protected", "description": "Apps under test, visible"}}'
call namespace_rename 200 PUT "/api/v1/namespaces/$NS" '{"namespace": {"name": "qa-tools"}}'
call namespace_transfer 200 PUT "/api/v1/namespaces/$NS" '{"namespace": {"team": "ops"}}'
call namespace_create_second 201 POST /api/v1/namespaces '{"name": "qa-scratch", "team": "qa"}'
SCRATCH=$(last .id)
call namespace_delete 204 DELETE "/api/v1/namespaces/$SCRATCH"
call namespace_create_third 201 POST /api/v1/namespaces '{"name": "qa-keep", "team": "qa"}'

# -- deleting a team (its namespaces move) and a user -------------------------------------------
# [portus] teams.rb `delete ":id"` with `optional :new_team` (a team name)
call team_delete 204 DELETE "/api/v1/teams/$QA?new_team=ops"
call ops_namespaces 200 GET "/api/v1/teams/$OPS/namespaces"
call user_delete 204 DELETE "/api/v1/users/$BOB"                      # [portusctl] delete user
call user_gone 404 GET "/api/v1/users/$BOB"
echo "portus_client: all $STEP calls answered as Portus would"
