#!/bin/sh
# The scheduling templates in ci/templates run as written: the shell of
# the GitHub Actions job and of the GitLab CI job, and the ExecStart of
# tenant-export@.service, are executed against the agency database, a
# running service and a worker (the runner's own parts, checkout and
# artifact upload, are GitHub's and GitLab's); each requests, waits for
# and fetches an archive that tenant-verify proves. The GitHub job's inspect step copes with several archives and
# split ones. The workflow gives no token rights, is bounded in time and
# concurrency, keeps artifacts 7 days and never pastes an expression into
# a script; the units pass systemd-analyze verify, and the service's, the
# worker's and the schedule's units rate "SAFE" or "OK" in
# systemd-analyze security.
work=$(mktemp -d /tmp/texp-templates.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
T="$top/ci/templates"
PY=/usr/bin/python3
$PY -c 'import yaml' 2>/dev/null || { echo "1..0 # skipped: python3-yaml missing"; exit 0; }

# ---- the workflow files, as data ----
check "github: no token rights, a time limit, one run per tenant, 7-day artifacts" $PY -c '
import sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
assert w["permissions"] == {}, w.get("permissions")
assert w["concurrency"]["cancel-in-progress"] is False
job = w["jobs"]["export"]
assert 0 < job["timeout-minutes"] <= 360
up = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
assert up and up[0]["with"]["retention-days"] == 7, up
assert up[0]["with"]["if-no-files-found"] == "error"
' "$T/github-actions.yml"
check "github: no \${{ }} expression inside a script (inputs go through env:)" $PY -c '
import sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
for s in w["jobs"]["export"]["steps"]:
    assert "${{" not in s.get("run", ""), s["run"]
' "$T/github-actions.yml"
check "gitlab: a time limit, one export per tenant at a time, expiring artifacts" $PY -c '
import sys, yaml
j = yaml.safe_load(open(sys.argv[1]))["tenant-export"]
assert j["timeout"] and j["resource_group"] and j["artifacts"]["expire_in"]
assert any("base64 -d" in l for l in j["script"]), "the key is not decoded"
' "$T/gitlab-ci.yml"

db=texp_templates_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
wpid=
trap 'kill "$spid" $wpid 2>/dev/null; dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
SOCK="$work/serve.sock"
"$E" serve --config "$work/agency.conf" --socket "$SOCK" 2>"$work/serve.log" &
spid=$!
check "the service listens" wait_for "the socket" test -S "$SOCK"
# the workers the templates leave the exports to
fixture_principal tw1 worker "$CLIENT_B" || { echo "not ok - worker principal"; exit 1; }
"$E" worker --socket "$SOCK" --as "$work/keys/tw1.key" \
    --passphrase-file "$work/keys/tw1.pass" --name tw1 --poll 1 \
    >"$work/worker.out" 2>"$work/worker.log" &
wpid=$!
PATH="$build:$PATH"
export PATH
proven() {	# proven DIR: every archive in DIR proves for Client B
	found=0
	for a in "$1"/*.texp "$1"/*.texp.index; do
		[ -e "$a" ] || continue
		tenant-verify verify --identity "$work/keys/client-b.age" \
		    --signer "$work/keys/sign.pub" --tenant "$CLIENT_B" "$a" \
		    >/dev/null || return 1
		found=1
	done
	[ "${found:-0}" = 1 ]
}

# ---- GitHub: the steps' shell, with the workflow's env ----
# Expressions are what GitHub would put there: vars, secrets, the run id.
mkdir -p "$work/gh"
steps() {	# steps FILE: each run: step as "name<TAB>base64(script)<TAB>base64(env json)"
	$PY -c '
import base64, json, os, re, sys, yaml
w = yaml.safe_load(open(sys.argv[1]))
job = w["jobs"]["export"]
vals = {"vars.TENANTS": os.environ["GH_TENANT"], "vars.TABLES": "app.invoices",
        "secrets.TEXP_PRINCIPAL_KEY": open(os.environ["GH_KEY"]).read().rstrip("\n"),
        "secrets.TEXP_PRINCIPAL_PASSPHRASE": open(os.environ["GH_PASS"]).read().rstrip("\n"),
        "github.run_id": "4711"}
def expand(v):
    return re.sub(r"\$\{\{\s*([a-zA-Z_.]+)\s*\}\}", lambda m: vals[m.group(1)], str(v))
for s in job["steps"]:
    if "run" not in s:
        continue
    env = {k: expand(v) for k, v in job.get("env", {}).items()}
    env.update({k: expand(v) for k, v in s.get("env", {}).items()})
    env["TENANT_EXPORT_SOCKET"] = os.environ["GH_SOCK"]
    env["GITHUB_RUN_ID"] = "4711"
    print("%s\t%s\t%s" % (s.get("name", "step"),
        base64.b64encode(s["run"].encode()).decode(),
        base64.b64encode(json.dumps(env).encode()).decode()))
' "$1"
}
run_step() {	# run_step DIR SCRIPT_B64 ENV_B64: bash -e as GitHub runs it
	$PY -c '
import base64, json, os, subprocess, sys
env = dict(os.environ)
env.update(json.loads(base64.b64decode(sys.argv[3])))
sys.exit(subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
    base64.b64decode(sys.argv[2]).decode()], cwd=sys.argv[1], env=env).returncode)
' "$@"
}
export GH_TENANT="$CLIENT_B" GH_KEY="$work/keys/runner-b.key" \
    GH_PASS="$work/keys/runner-b.pass" GH_SOCK="$SOCK"
steps "$T/github-actions.yml" >"$work/gh.steps"
while IFS="	" read -r name script env; do
	expect_rc 0 "github step: $name" run_step "$work/gh" "$script" "$env"
done <"$work/gh.steps"
check "  ... the archive fetched proves" proven "$work/gh/archive/$CLIENT_B"
check "  ... and the key files are gone" test ! -e "$work/gh/principal.key"
# the inspect step with two archives and a split one
mkdir -p "$work/many/archive/acme"
for x in one two; do
	"$S" --out "$work/many/archive/acme/$x.texp" --sign-key "$work/keys/sign.key" \
	    --recipient "$(cat "$work/keys/client-b.rcpt")" --tenant acme \
	    --records 3 >/dev/null 2>&1
done
"$S" --out "$work/many/archive/acme/split.texp" --sign-key "$work/keys/sign.key" \
    --recipient "$(cat "$work/keys/client-b.rcpt")" --tenant acme --records 300 \
    --row-bytes 200 --part-size 20000 >/dev/null 2>&1
show=$(grep "^Show what" "$work/gh.steps")
expect_rc 0 "github: the inspect step takes two archives and a split one" \
	run_step "$work/many" "$(echo "$show" | cut -f2)" "$(echo "$show" | cut -f3)"
check "  ... inspecting each once (three)" test "$(grep -c '"archive"' "$work/out")" = 3

# ---- GitLab: the job's script, with masked single-line variables ----
mkdir -p "$work/gl"
$PY -c '
import sys, yaml
j = yaml.safe_load(open(sys.argv[1]))["tenant-export"]
print("\n".join(j["script"]))
' "$T/gitlab-ci.yml" >"$work/gl.sh"
expect_rc 0 "gitlab: the job's script" env -C "$work/gl" \
	TENANTS="$CLIENT_B" TABLES=app.invoices CI_PIPELINE_ID=77 \
	TENANT_EXPORT_SOCKET="$SOCK" \
	TEXP_PRINCIPAL_KEY_B64="$(base64 -w0 "$work/keys/runner-b.key")" \
	TEXP_PRINCIPAL_PASSPHRASE="$(cat "$work/keys/runner-b.pass")" \
	sh -e "$work/gl.sh"
check "  ... the archive fetched proves" proven "$work/gl/archive/$CLIENT_B"

# ---- systemd: the units verify, the schedule is confined, its command runs ----
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$work/units"
	cp "$T"/*.service "$T"/*.timer "$work/units/"
	cp "$work/units/tenant-export@.service" "$work/units/tenant-export@x.service"
	cp "$work/units/tenant-export@.timer" "$work/units/tenant-export@x.timer"
	# verify: the units' own syntax and references (the binary's path
	# is the installed one, not here: that one complaint is allowed)
	expect_rc 0 "systemd-analyze verify: the service, the worker, the schedule and its timer" \
		sh -c 'cd "$1" && { systemd-analyze verify --man=no \
		    tenant-export-serve.service tenant-export-worker.service \
		    tenant-export@x.service tenant-export@x.timer \
		    tenant-export-failed@.service 2>&1 |
		    grep -v "/usr/local/bin/tenant-export is not executable" |
		    grep . && exit 1; exit 0; }' sh "$work/units"
	for u in tenant-export@x tenant-export-serve tenant-export-worker; do
		expect_rc 0 "systemd-analyze security of $u.service" \
			sh -c 'cd "$1" && systemd-analyze security --offline=true \
			    --no-pager "$2"' sh "$work/units" "$u.service"
		check "  ... rates it SAFE or OK" grep -Eq "exposure level .*: [0-9.]+ (SAFE|OK)" "$work/out"
	done
else
	echo "# systemd-analyze missing: unit checks skipped"
fi
$PY -c '
import re, sys
t = open(sys.argv[1]).read().replace("\\\n", " ")
m = re.search(r"^ExecStart=/bin/sh -c (.*)$", t, re.M)
s = m.group(1).strip()
assert s[0] == "\x27" and s[-1] == "\x27"
print(s[1:-1].replace("%i", sys.argv[2]).replace("%%", "%"))
' "$T/tenant-export@.service" "$CLIENT_B" >"$work/unit.sh"
mkdir -p "$work/state"
expect_rc 0 "systemd: the schedule's command" env STATE_DIRECTORY="$work/state" \
	TENANT_EXPORT_SOCKET="$SOCK" TEXP_KEY="$work/keys/runner-b.key" \
	TEXP_PASS="$work/keys/runner-b.pass" TEXP_TABLES=app.invoices \
	sh "$work/unit.sh"
check "  ... the archive fetched into the state directory proves" \
	proven "$work/state/$CLIENT_B/$(date -u +%Y%m%d)"
finish
