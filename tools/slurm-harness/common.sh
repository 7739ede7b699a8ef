# shellcheck shell=bash
# Shared by slurm-up, slurm-down and slurm-check; sourced, never run.
# Defines the profiles, the state-directory layout and the pid-file based process control.

harness_die() { echo "slurm-harness: error: $*" >&2; exit 1; }
harness_log() { [ -n "${SLURM_HARNESS_QUIET:-}" ] || echo "slurm-harness: $*" >&2; }

# harness_profile: PROFILE from SLURM_HARNESS_PROFILE (jobcomp, the default, accounting or
# maxsubmit), with the default state directory and ports of that profile, so all can run at
# once. SLURMDBD is 1 for the profiles that keep accounting in slurmdbd.
# shellcheck disable=SC2034
harness_profile() {
  PROFILE=${SLURM_HARNESS_PROFILE:-jobcomp}
  case $PROFILE in
    jobcomp) DEFAULT_PORT_BASE=0 ;;
    accounting) DEFAULT_PORT_BASE=10 ;;
    maxsubmit) DEFAULT_PORT_BASE=20 ;;
    *) harness_die "SLURM_HARNESS_PROFILE must be jobcomp, accounting or maxsubmit, got '$PROFILE'" ;;
  esac
  SLURMDBD=0
  [ "$PROFILE" = jobcomp ] || SLURMDBD=1
  DEFAULT_DIR=/tmp/slurm-harness-$PROFILE
}

# harness_paths DIR: set every path the harness uses, from the state directory.
# shellcheck disable=SC2034  # the variables are used by the scripts that source this file
harness_paths() {
  S=$(realpath -m -- "$1")
  case "$S" in /|/tmp|/root|/home|/var|/usr|/etc) harness_die "refusing to use '$S' as state directory";; esac
  MARKER=$S/.slurm-harness
  LOCK=$S/.lock
  CONF=$S/etc/slurm.conf
  MUNGE_DIR=$S/munge
  MUNGE_KEY=$MUNGE_DIR/munge.key
  MUNGE_SOCKET=$MUNGE_DIR/munge.socket
  MUNGE_PID=$MUNGE_DIR/munged.pid
  CTLD_PID=$S/run/slurmctld.pid
  SLURMD_PID=$S/run/slurmd.pid
  SSH_DIR=$S/ssh
  SSHD_CONFIG=$SSH_DIR/sshd_config
  SSHD_PID=$SSH_DIR/sshd.pid
  SSH_KEY=$SSH_DIR/client_key
  SSH_KNOWN_HOSTS=$SSH_DIR/known_hosts
  SSH_CLIENT_CONFIG=$SSH_DIR/ssh_config
  LOGS=$S/log
  ENV_FILE=$S/env.sh
  PROFILE_FILE=$S/profile
  DBD_CONF=$S/etc/slurmdbd.conf
  DBD_PID=$S/run/slurmdbd.pid
  DB_DIR=$S/mariadb
  DB_SOCKET=$DB_DIR/mariadbd.sock
  DB_PID=$DB_DIR/mariadbd.pid
  NODE=localhost
}

# harness_lock: serialise slurm-up/slurm-down on one state directory (parallel test workers).
# Every daemon is started with 9>&- so none of them inherits the lock.
harness_lock() {
  mkdir -p "$S"
  exec 9>"$LOCK"
  flock -w 300 9 || harness_die "another slurm-up/slurm-down holds $LOCK"
}

# harness_pid_of NAME PIDFILE: print the pid if PIDFILE names a live NAME process whose
# command line (or, for slurmdbd, which takes no config option, its SLURM_CONF) mentions this
# state directory, so a recycled pid or another instance is never taken for ours; otherwise
# print nothing and return 1.
harness_pid_of() {
  local name=$1 file=$2 pid state
  [ -s "$file" ] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$S/" ||
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF -- "SLURM_CONF=$S/etc/slurm.conf" || return 1
  echo "$pid"
}

# harness_gone PID: true once PID has exited (a zombie counts as exited: PID 1 on these
# machines reaps orphans only every few seconds).
harness_gone() {
  local state
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 0
  [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}

# harness_stop NAME PIDFILE: SIGTERM the process named by PIDFILE, SIGKILL after 10 s.
harness_stop() {
  local name=$1 file=$2 pid
  if pid=$(harness_pid_of "$name" "$file"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do harness_gone "$pid" && break; sleep 0.1; done
    if ! harness_gone "$pid"; then
      harness_log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do harness_gone "$pid" && break; sleep 0.1; done
    fi
    harness_log "stopped $name (pid $pid)"
  fi
  rm -f "$file"
}

# harness_now_us: wall clock in microseconds (EPOCHREALTIME's separator follows the locale).
harness_now_us() { echo "${EPOCHREALTIME//[!0-9]/}"; }

# harness_port_listening PORT: true when some socket listens on TCP PORT (any address).
# Reads /proc/net instead of connecting, so the daemons log no half-open connections.
harness_port_listening() {
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
