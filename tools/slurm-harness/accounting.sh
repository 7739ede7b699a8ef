# shellcheck shell=bash
# Profiles "accounting" and "maxsubmit" of slurm-up; sourced by it, never run. Starts a
# MariaDB server of the harness's own (data, socket and pid file in STATE_DIR/mariadb, TCP on
# 127.0.0.1 only) and
# slurmdbd over it, then registers the cluster, its accounts and root in them with sacctmgr.
# Uses the variables slurm-up sets (S, LOGS, DB_*, DBD_*, CONF, ACCOUNTS, STARTED ...).

db_sql() { mariadb --no-defaults --socket="$DB_SOCKET" -u root --batch --skip-column-names -e "$1"; }
db_ok() { mariadb-admin --no-defaults --socket="$DB_SOCKET" -u root ping >/dev/null 2>&1; }
dbd_ok() { harness_port_listening "$DBD_PORT" && sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1; }

start_mariadb() {
  if [ ! -d "$DB_DIR/data/mysql" ]; then
    harness_log "creating the accounting database in $DB_DIR/data"
    mariadb-install-db --no-defaults --datadir="$DB_DIR/data" --user=root --skip-test-db \
      --auth-root-authentication-method=socket >"$LOGS/mariadb-install.log" 2>&1 9>&- ||
      { show_logs "$LOGS/mariadb-install.log"; harness_die "mariadb-install-db failed"; }
  fi
  harness_pid_of mariadbd "$DB_PID" >/dev/null && return 0
  rm -f "$DB_PID"
  # mariadbd stays in the foreground; setsid -f detaches it like the other daemons.
  setsid -f /usr/sbin/mariadbd --no-defaults --datadir="$DB_DIR/data" --user=root \
    --socket="$DB_SOCKET" --pid-file="$DB_PID" --bind-address=127.0.0.1 --port="$DB_PORT" \
    --log-error="$LOGS/mariadb.log" --skip-name-resolve --innodb-buffer-pool-size=32M \
    --innodb-lock-wait-timeout=900 --max-allowed-packet=16M \
    </dev/null >>"$LOGS/mariadb.out" 2>&1 9>&- ||
    { show_logs "$LOGS/mariadb.out" "$LOGS/mariadb.log"; harness_die "mariadbd did not start"; }
  wait_for 60 mariadbd db_ok || { show_logs "$LOGS/mariadb.log"; harness_die "mariadbd does not answer"; }
  STARTED+=(mariadbd)
}

# The database user slurmdbd connects as, over TCP from 127.0.0.1; idempotent.
grant_slurm_user() {
  local password
  password=$(cat "$DB_DIR/slurm.password")
  db_sql "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$password';
    ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$password';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" 2>>"$LOGS/mariadb.out" ||
    { show_logs "$LOGS/mariadb.out"; harness_die "could not create the slurmdbd database user"; }
}

start_slurmdbd() {
  harness_pid_of slurmdbd "$DBD_PID" >/dev/null && return 0
  rm -f "$DBD_PID"
  # slurmdbd has no option for its config file: it reads slurmdbd.conf beside $SLURM_CONF.
  SLURM_CONF=$CONF /usr/sbin/slurmdbd </dev/null >>"$LOGS/slurmdbd.out" 2>&1 9>&- ||
    { show_logs "$LOGS/slurmdbd.out" "$LOGS/slurmdbd.log"; harness_die "slurmdbd did not start"; }
  wait_for 60 slurmdbd dbd_ok || { show_logs "$LOGS/slurmdbd.out" "$LOGS/slurmdbd.log"; harness_die "slurmdbd does not answer"; }
  STARTED+=(slurmdbd)
}

# The cluster must be known to slurmdbd before slurmctld registers; accounts give sbatch
# --account something real to name. Only what is missing is added.
register_cluster() {
  local account
  if [ -z "$(sacctmgr -n -P list cluster harness format=cluster 2>/dev/null)" ]; then
    sacctmgr -i add cluster harness >>"$LOGS/sacctmgr.log" 2>&1 || { show_logs "$LOGS/sacctmgr.log"; harness_die "sacctmgr add cluster failed"; }
  fi
  for account in ${ACCOUNTS//,/ }; do
    if [ -z "$(sacctmgr -n -P list account "$account" format=account 2>/dev/null)" ]; then
      sacctmgr -i add account "$account" cluster=harness >>"$LOGS/sacctmgr.log" 2>&1 ||
        { show_logs "$LOGS/sacctmgr.log"; harness_die "sacctmgr add account $account failed"; }
    fi
    if [ -z "$(sacctmgr -n -P list assoc user=root account="$account" format=account 2>/dev/null)" ]; then
      sacctmgr -i add user root account="$account" cluster=harness >>"$LOGS/sacctmgr.log" 2>&1 ||
        { show_logs "$LOGS/sacctmgr.log"; harness_die "sacctmgr add user root to $account failed"; }
    fi
  done
}

# maxsubmit: root's associations (accounts root, chem, physics) may hold MAX_SUBMIT_JOBS
# pending or running jobs each; sbatch refuses more (AssocMaxSubmitJobLimit). Checked on
# every start (one sacctmgr call), so a new SLURM_HARNESS_MAX_SUBMIT_JOBS applies at once:
# slurmdbd passes the change on to a running slurmctld.
apply_submit_limit() {
  [ "$PROFILE" = maxsubmit ] || return 0
  local limits
  limits=$(sacctmgr -n -P list assoc user=root cluster=harness format=MaxSubmit 2>/dev/null | sort -u)
  [ "$limits" = "$MAX_SUBMIT_JOBS" ] && return 0
  harness_log "setting MaxSubmitJobs=$MAX_SUBMIT_JOBS for root"
  sacctmgr -i modify user root where cluster=harness set MaxSubmitJobs="$MAX_SUBMIT_JOBS" >>"$LOGS/sacctmgr.log" 2>&1 ||
    { show_logs "$LOGS/sacctmgr.log"; harness_die "sacctmgr could not set MaxSubmitJobs"; }
}

# Registration runs only when a daemon was started now: a running cluster is left alone (and
# "already running" stays quick).
start_accounting() {
  local before=${#STARTED[@]}
  start_mariadb
  [ ${#STARTED[@]} = "$before" ] || grant_slurm_user
  start_slurmdbd
  [ ${#STARTED[@]} = "$before" ] || register_cluster
  apply_submit_limit
}
