#!/bin/bash
# The smtpcm mail-server test rig: Postfix + Dovecot SASL + Cyrus SASL + an MIT Kerberos KDC,
# all on loopback, all state under $RIG_DIR (default ${TMPDIR:-/tmp}/mail-rig). docs/rig.md
# describes ports, users and where mail lands; RIG-NOTES.md in ../shared (beside the
# repository) holds the facts behind every setting.
#
#   rig.sh start     install missing Debian packages, configure, start (idempotent)
#   rig.sh stop      stop the daemons this rig started (by pid file)
#   rig.sh status    which daemons run and which ports answer
#   rig.sh env       print `export NAME=value` lines for tests and clients
#   rig.sh verify    check every port with swaks/openssl/msmtp/gsasl, PASS/FAIL per check
#   rig.sh install   only install the missing Debian packages
#
# Environment: RIG_DIR; RIG_NO_HOSTS=1 (no hosts-file entry: use "localhost" as server name);
# RIG_DEBUG=1 (Dovecot auth_debug); RIG_PORT_<NAME> to move a port (the PORT_* defaults
# below; test/support/rig.ts assumes them). Needs root and Debian 12.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RIG_DIR=${RIG_DIR:-${TMPDIR:-/tmp}/mail-rig}
RIG_DIR=${RIG_DIR%/}

REALM=RIG.TEST
MAIL_HOST=mail.rig.test
KDC_MASTER_PASSWORD=rig-kdc-master
# user:password. ulrich's password is UTF-8 with a character outside Latin-1.
USERS=('alice:alice-Secret-1' 'bob:bob-Secret-2' 'ulrich:Pässwörd-€-3')
KRB_USERS=(alice bob)

PORT_PLAIN=${RIG_PORT_PLAIN:-3525}
PORT_SIZE=${RIG_PORT_SIZE:-3526}
PORT_BARE=${RIG_PORT_BARE:-3527}
PORT_NOTLS=${RIG_PORT_NOTLS:-3524}
PORT_SUBMISSION=${RIG_PORT_SUBMISSION:-3587}
PORT_SMTPS=${RIG_PORT_SMTPS:-3465}
PORT_BADNAME=${RIG_PORT_BADNAME:-3466}
PORT_SELFSIGNED=${RIG_PORT_SELFSIGNED:-3467}
PORT_EXCHANGE=${RIG_PORT_EXCHANGE:-3625}
PORT_EXCHANGE_CLIENT=${RIG_PORT_EXCHANGE_CLIENT:-3687}
PORT_KDC=${RIG_PORT_KDC:-3088}
SMTP_PORTS=("$PORT_PLAIN" "$PORT_SIZE" "$PORT_BARE" "$PORT_NOTLS" "$PORT_SUBMISSION"
  "$PORT_SMTPS" "$PORT_BADNAME" "$PORT_SELFSIGNED" "$PORT_EXCHANGE" "$PORT_EXCHANGE_CLIENT")

SERVER_PACKAGES=(postfix dovecot-core dovecot-gssapi sasl2-bin libsasl2-modules
  libsasl2-modules-gssapi-mit krb5-kdc krb5-admin-server krb5-user openssl iproute2)
CLIENT_PACKAGES=(swaks libio-socket-inet6-perl libauthen-ntlm-perl libauthen-sasl-perl
  libnet-ssleay-perl libio-socket-ssl-perl gsasl msmtp python3-gssapi)
# The npm `kerberos` addon (an optional dependency) is built by node-gyp against these.
BUILD_PACKAGES=(libkrb5-dev g++ make python3)

POSTFIX_ETC=$RIG_DIR/postfix/etc
POSTFIX_QUEUE=$RIG_DIR/postfix/queue
KRB_DIR=$RIG_DIR/krb5
TLS_DIR=$RIG_DIR/tls
LOG_DIR=$RIG_DIR/log
MAIL_DIR=$RIG_DIR/mail
DOVECOT_DIR=$RIG_DIR/dovecot
PID_POSTFIX=$POSTFIX_QUEUE/pid/master.pid
PID_DOVECOT=$DOVECOT_DIR/run/master.pid
PID_KDC=$RIG_DIR/run/krb5kdc.pid

say() { printf 'rig: %s\n' "$*"; }
die() {
  printf 'rig: error: %s\n' "$*" >&2
  exit 1
}

# The machine's host name, lower-cased; no DNS lookup (hostname -f could wait for one).
host_name() {
  local name
  name=$(hostname 2>/dev/null || uname -n)
  printf '%s' "${name,,}"
}

# The name clients must use for TLS and Kerberos: mail.rig.test when it resolves.
server_name() {
  if getent hosts "$MAIL_HOST" >/dev/null 2>&1; then echo "$MAIL_HOST"; else echo localhost; fi
}

have_ipv6() { grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; }

need_root() { [[ $EUID -eq 0 ]] || die "run as root (it installs packages and starts daemons)"; }

# One start or stop at a time: a second `start` waits, then finds the rig running (without
# the lock, its failure clean-up could stop the first one's daemons).
# Daemons are started with 9>&- so that they do not inherit (and keep) the lock.
locked=
take_lock() {
  [[ -z $locked ]] || return 0
  mkdir -p "$RIG_DIR"
  exec 9>"$RIG_DIR/.lock"
  flock -w 300 9 || die "another rig.sh holds $RIG_DIR/.lock for more than 300 s"
  locked=1
}

# ----------------------------------------------------------------------------- packages

missing_packages() {
  local installed
  # One dpkg-query for all; a package it does not know is reported on stderr, not listed.
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
    awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }') || true
  local pkg
  for pkg in "$@"; do
    [[ $'\n'$installed$'\n' == *$'\n'$pkg$'\n'* ]] || printf '%s\n' "$pkg"
  done
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages "${SERVER_PACKAGES[@]}" "${CLIENT_PACKAGES[@]}" \
    "${BUILD_PACKAGES[@]}")
  ((${#missing[@]} > 0)) || return 0
  say "installing ${missing[*]}"
  # Install scripts must not start the system's own daemons: a policy-rc.d that exits 101
  # for the length of the install, unless one is already there.
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# added by the smtpcm rig for one apt-get run\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
    # Removed even if apt-get is interrupted.
    trap "rm -f $policy" EXIT
  fi
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  local status=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
  } || status=$?
  if [[ -n $added_policy ]]; then
    rm -f "$policy"
    trap - EXIT
  fi
  ((status == 0)) || die "apt-get failed ($status) installing ${missing[*]}"
}

# ----------------------------------------------------------------------------- processes

pid_alive() {
  local file=$1 name=$2 pid
  [[ -r $file ]] || return 1
  pid=$(head -n1 "$file" | tr -dc 0-9)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A pid file can outlive its process and the pid be reused: check the program name, and
  # that the process belongs to this rig ($RIG_DIR in its arguments or environment).
  # (No `| grep -q` here: under pipefail its early exit can fail the pipeline.)
  local cmdline environ
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  environ=$(tr '\0' ' ' <"/proc/$pid/environ" 2>/dev/null) || true
  [[ $cmdline == *"$name"* && "$cmdline $environ" == *"$RIG_DIR/"* ]] || return 1
  echo "$pid"
}

any_alive() {
  local pid
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}

# stop_pids FILE:NAME...: TERM every live process named in a pid file, all at once (each
# takes seconds to wind down), wait up to 10 s for all of them, then KILL what is left.
stop_pids() {
  local entry pid i names=() pids=()
  for entry in "$@"; do
    pid=$(pid_alive "${entry%:*}" "${entry##*:}") || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
    names+=("${entry##*:} ($pid)")
  done
  if ((${#pids[@]} == 0)); then
    say "not running ($RIG_DIR)"
    return 0
  fi
  for ((i = 0; i < 100; i++)); do
    any_alive "${pids[@]}" || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid still running after 10 s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  say "stopped ${names[*]}"
}

running_count() {
  local n=0
  pid_alive "$PID_KDC" krb5kdc >/dev/null && n=$((n + 1))
  pid_alive "$PID_DOVECOT" dovecot >/dev/null && n=$((n + 1))
  pid_alive "$PID_POSTFIX" master >/dev/null && n=$((n + 1))
  echo "$n"
}

# A listener on a port, from ss; prints what ss knows about its owner.
port_holder() {
  local proto=$1 port=$2
  ss -Hn"$proto"lp "sport = :$port" 2>/dev/null | head -n1
}

check_ports_free() {
  local port line
  for port in "${SMTP_PORTS[@]}" "$PORT_KDC"; do
    line=$(port_holder t "$port")
    [[ -z $line ]] || die "port $port is taken by another program: $line" \
      "(stop it, or move the rig with RIG_PORT_*)"
  done
  line=$(port_holder u "$PORT_KDC")
  [[ -z $line ]] || die "UDP port $PORT_KDC is taken by another program: $line"
}

# wait_for DESCRIPTION SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds.
wait_for() {
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$what did not come up within $seconds s; see $LOG_DIR/"
}

smtp_greets() {
  local reply
  exec 7<>"/dev/tcp/127.0.0.1/$1" || return 1
  IFS= read -r -t 2 reply <&7 || true
  exec 7<&- 7>&-
  [[ $reply == 220* ]]
}

listening() { [[ -n $(ss -Hn"$1"l "sport = :$2" 2>/dev/null) ]]; }

# ----------------------------------------------------------------------------- TLS

# issue NAME SUBJECT_CN SANS [self]: key and certificate $TLS_DIR/NAME.{key,pem}.
issue() {
  local name=$1 cn=$2 sans=$3 self=${4-}
  local key=$TLS_DIR/$name.key pem=$TLS_DIR/$name.pem ext=$TLS_DIR/$name.ext
  [[ -s $key && -s $pem ]] && return 0
  openssl genrsa -out "$key" 2048 2>/dev/null
  printf '%s\n' 'basicConstraints = critical, CA:FALSE' \
    'keyUsage = critical, digitalSignature, keyEncipherment' \
    'extendedKeyUsage = serverAuth' 'subjectKeyIdentifier = hash' \
    "subjectAltName = $sans" >"$ext"
  if [[ $self == self ]]; then
    openssl req -new -x509 -key "$key" -out "$pem" -days 825 -subj "/O=smtpcm rig/CN=$cn" \
      -set_serial "0x$(openssl rand -hex 8)" -addext "subjectAltName = $sans" \
      -addext 'extendedKeyUsage = serverAuth' 2>/dev/null
  else
    openssl req -new -key "$key" -subj "/O=smtpcm rig/CN=$cn" -out "$TLS_DIR/$name.csr"
    openssl x509 -req -in "$TLS_DIR/$name.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
      -set_serial "0x$(openssl rand -hex 8)" -days 825 -extfile "$ext" -out "$pem" 2>/dev/null
    rm -f "$TLS_DIR/$name.csr"
  fi
  rm -f "$ext"
}

setup_tls() {
  mkdir -p "$TLS_DIR"
  if [[ ! -s $TLS_DIR/ca.pem || ! -s $TLS_DIR/ca.key ]]; then
    rm -f "$TLS_DIR"/*.pem "$TLS_DIR"/*.key
    openssl genrsa -out "$TLS_DIR/ca.key" 2048 2>/dev/null
    openssl req -new -x509 -key "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" -days 3650 \
      -subj '/O=smtpcm rig/CN=smtpcm rig test CA' \
      -addext 'basicConstraints = critical, CA:TRUE' \
      -addext 'keyUsage = critical, keyCertSign, cRLSign' 2>/dev/null
  fi
  local host sans
  host=$(host_name)
  sans="DNS:$MAIL_HOST, DNS:localhost"
  [[ $host == "$MAIL_HOST" || $host == localhost ]] || sans+=", DNS:$host"
  sans+=", IP:127.0.0.1, IP:::1"
  issue server "$MAIL_HOST" "$sans"
  issue wrong-name wrong-name.invalid 'DNS:wrong-name.invalid'
  issue self-signed "$MAIL_HOST" "$sans" self
  chown root:postfix "$TLS_DIR"/*.key
  chmod 640 "$TLS_DIR"/*.key
  chmod 600 "$TLS_DIR/ca.key"
  chmod 644 "$TLS_DIR"/*.pem
}

# ----------------------------------------------------------------------------- Kerberos

setup_krb5() {
  local host
  host=$(host_name)
  mkdir -p "$KRB_DIR/k5login" "$KRB_DIR/rcache" "$KRB_DIR/ccache"
  # smtpd (postfix) and Dovecot's auth process (dovecot) write their replay caches here.
  chmod 1777 "$KRB_DIR/rcache" "$KRB_DIR/ccache"
  chmod 755 "$KRB_DIR" "$KRB_DIR/k5login"
  cat >"$KRB_DIR/krb5.conf" <<EOF
# Written by scripts/rig/rig.sh; clients and acceptors of the rig use it via KRB5_CONFIG.
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    # The SPN is exactly smtp/<name the client was given>: no reverse or forward
    # canonicalisation (connecting by IP gives smtp/127.0.0.1, which does not exist).
    rdns = false
    dns_canonicalize_hostname = false
    default_ccache_name = FILE:$KRB_DIR/ccache/krb5cc_%{uid}
    # krb5_kuserok looks here instead of in home directories: alice and bob need no
    # Unix accounts.
    k5login_directory = $KRB_DIR/k5login

[realms]
    $REALM = {
        kdc = 127.0.0.1:$PORT_KDC
    }

[domain_realm]
    .rig.test = $REALM
    rig.test = $REALM
    localhost = $REALM
    $host = $REALM
EOF
  cat >"$KRB_DIR/kdc.conf" <<EOF
# Written by scripts/rig/rig.sh; the KDC reads it via KRB5_KDC_PROFILE.
[kdcdefaults]
    kdc_listen = 127.0.0.1:$PORT_KDC
    kdc_tcp_listen = 127.0.0.1:$PORT_KDC

[realms]
    $REALM = {
        database_name = $KRB_DIR/principal
        key_stash_file = $KRB_DIR/stash
        acl_file = $KRB_DIR/kadm5.acl
        kdc_listen = 127.0.0.1:$PORT_KDC
        kdc_tcp_listen = 127.0.0.1:$PORT_KDC
        master_key_type = aes256-cts-hmac-sha1-96
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
        max_life = 24h
        max_renewable_life = 7d
    }

[logging]
    kdc = FILE:$LOG_DIR/krb5kdc.log
    admin_server = FILE:$LOG_DIR/kadmin.log
    default = FILE:$LOG_DIR/krb5lib.log
EOF
  : >"$KRB_DIR/kadm5.acl"
  export KRB5_CONFIG=$KRB_DIR/krb5.conf KRB5_KDC_PROFILE=$KRB_DIR/kdc.conf
  local keytab=$KRB_DIR/rig.keytab spn
  # Only on a new database: a second ktadd would re-key the principals and make every
  # keytab copy stale.
  if [[ ! -e $KRB_DIR/principal ]]; then
    rm -f "$keytab"
    kdb5_util -r "$REALM" create -s -P "$KDC_MASTER_PASSWORD" >/dev/null 2>&1 ||
      die "kdb5_util create failed"
    local entry user password
    for entry in "${USERS[@]}"; do
      user=${entry%%:*} password=${entry#*:}
      [[ " ${KRB_USERS[*]} " == *" $user "* ]] || continue
      kadmin.local -r "$REALM" -q "addprinc -pw $password $user@$REALM" >/dev/null 2>&1 ||
        die "kadmin.local addprinc $user failed"
    done
  fi
  # Service principals: smtp/mail.rig.test, smtp/localhost, smtp/<hostname>. One that is
  # missing (a new hostname) is added and exported alone.
  for spn in "$MAIL_HOST" localhost "$host"; do
    [[ $(kadmin.local -r "$REALM" -q "getprinc smtp/$spn@$REALM" 2>/dev/null) == \
      *$'\nPrincipal: '* ]] && continue
    kadmin.local -r "$REALM" -q "addprinc -randkey smtp/$spn@$REALM" >/dev/null 2>&1 &&
      kadmin.local -r "$REALM" -q "ktadd -k $keytab smtp/$spn@$REALM" >/dev/null 2>&1 ||
      die "kadmin.local could not add smtp/$spn@$REALM"
  done
  chmod 600 "$keytab"
  # Copies the daemons can read: Dovecot's auth process runs as dovecot, smtpd as postfix.
  install -m 640 -o root -g dovecot "$keytab" "$KRB_DIR/dovecot.keytab"
  install -m 640 -o root -g postfix "$keytab" "$KRB_DIR/postfix.keytab"
}

start_kdc() {
  KRB5_CONFIG=$KRB_DIR/krb5.conf KRB5_KDC_PROFILE=$KRB_DIR/kdc.conf \
    krb5kdc -r "$REALM" -P "$PID_KDC" </dev/null >>"$LOG_DIR/krb5kdc.stdout" 2>&1 9>&- ||
    die "krb5kdc failed to start; see $LOG_DIR/krb5kdc.log"
  wait_for "the KDC on 127.0.0.1:$PORT_KDC" 10 listening u "$PORT_KDC"
}

# ----------------------------------------------------------------------------- Dovecot

setup_dovecot() {
  mkdir -p "$DOVECOT_DIR/run" "$DOVECOT_DIR/state"
  local entry user password
  : >"$DOVECOT_DIR/users"
  for entry in "${USERS[@]}"; do
    user=${entry%%:*} password=${entry#*:}
    printf '%s:{PLAIN}%s::::::\n' "$user" "$password" >>"$DOVECOT_DIR/users"
  done
  chown root:dovecot "$DOVECOT_DIR/users"
  chmod 640 "$DOVECOT_DIR/users"
  local debug=no krb_env
  [[ ${RIG_DEBUG:-} != 1 ]] || debug=yes
  krb_env="KRB5_CONFIG=$KRB_DIR/krb5.conf KRB5_KTNAME=$KRB_DIR/dovecot.keytab"
  krb_env+=" KRB5RCACHEDIR=$KRB_DIR/rcache"
  cat >"$DOVECOT_DIR/dovecot.conf" <<EOF
# Written by scripts/rig/rig.sh. Dovecot as Postfix's SASL server only: no IMAP, no POP.
instance_name = mail-rig
base_dir = $DOVECOT_DIR/run
state_dir = $DOVECOT_DIR/state
log_path = $LOG_DIR/dovecot.log
protocols =
ssl = no
# Postfix decides where clear-text AUTH is allowed (smtpd_tls_auth_only).
disable_plaintext_auth = no
# No NTLM: Dovecot 2.3.13 removed it (the rig offers NTLM through Cyrus on the
# Exchange-like ports). gssapi needs the dovecot-gssapi package.
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256 gssapi
# alice, ALICE, alice@rig.test and alice@RIG.TEST all log in as alice.
auth_username_format = %Ln
auth_verbose = yes
auth_debug = $debug
# Accept every principal in the keytab: smtp/mail.rig.test, smtp/localhost, smtp/<host>.
auth_gssapi_hostname = "\$ALL"
auth_krb5_keytab = $KRB_DIR/dovecot.keytab
# Cyrus and MIT libraries inside the auth process find the rig's files through these; the
# replay cache would otherwise go to the system temp dir.
import_environment = TZ CORE_OUTOFMEM CORE_ERROR LISTEN_PID LISTEN_FDS $krb_env

passdb {
  driver = passwd-file
  args = scheme=PLAIN $DOVECOT_DIR/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}

service auth {
  unix_listener $POSTFIX_QUEUE/private/auth {
    user = postfix
    group = postfix
    mode = 0660
  }
}
EOF
}

start_dovecot() {
  rm -f "$POSTFIX_QUEUE/private/auth"
  dovecot -c "$DOVECOT_DIR/dovecot.conf" </dev/null >>"$LOG_DIR/dovecot.stdout" 2>&1 9>&- ||
    die "dovecot failed to start; see $LOG_DIR/dovecot.log and $LOG_DIR/dovecot.stdout"
  wait_for "Dovecot's auth socket" 10 test -S "$POSTFIX_QUEUE/private/auth"
}

# ----------------------------------------------------------------------------- Postfix

setup_cyrus() {
  local sasl=$POSTFIX_ETC/sasl db=$POSTFIX_ETC/sasl/sasldb2
  mkdir -p "$sasl"
  # Debian's Postfix reads <config_directory>/sasl/smtpd.conf whatever
  # cyrus_sasl_config_path says (Debian patch 07_sasl_config).
  cat >"$sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $db
mech_list: GSSAPI NTLM LOGIN
EOF
  rm -f "$db"
  local entry user password
  for entry in "${USERS[@]}"; do
    user=${entry%%:*} password=${entry#*:}
    # The realm must equal Postfix's myhostname: Cyrus' default realm is the server FQDN.
    printf '%s' "$password" | saslpasswd2 -f "$db" -c -p -u "$MAIL_HOST" "$user" ||
      die "saslpasswd2 failed for $user"
  done
  chown root:postfix "$db"
  chmod 640 "$db"
}

setup_postfix() {
  mkdir -p "$POSTFIX_ETC" "$POSTFIX_QUEUE" "$RIG_DIR/postfix/data"
  chown postfix:postfix "$RIG_DIR/postfix/data"
  local protocols=ipv4 sasl_env
  ! have_ipv6 || protocols='ipv4, ipv6'
  sasl_env="KRB5_CONFIG=$KRB_DIR/krb5.conf KRB5_KTNAME=$KRB_DIR/postfix.keytab"
  sasl_env+=" KRB5RCACHEDIR=$KRB_DIR/rcache"
  cat >"$POSTFIX_ETC/main.cf" <<EOF
# Written by scripts/rig/rig.sh: a Postfix instance of its own (postfix -c $POSTFIX_ETC).
compatibility_level = 3.6
queue_directory = $POSTFIX_QUEUE
data_directory = $RIG_DIR/postfix/data
meta_directory = /etc/postfix
maillog_file = $LOG_DIR/postfix.log
maillog_file_prefixes = $LOG_DIR
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE
    POSTLOG_HOSTNAME $sasl_env

myhostname = $MAIL_HOST
mydomain = rig.test
myorigin = \$myhostname
smtpd_banner = \$myhostname ESMTP
inet_interfaces = loopback-only
inet_protocols = $protocols
biff = no
append_dot_mydomain = no

# No DNS at all: clients show up as unknown[127.0.0.1].
smtpd_peername_lookup = no
smtp_dns_support_level = disabled

# Nothing leaves the machine: every transport is the pipe to \$RIG_DIR/bin/deliver.
mydestination =
relay_domains = rig.test
default_transport = rigdeliver
relay_transport = rigdeliver
local_transport = rigdeliver
virtual_transport = rigdeliver
rigdeliver_destination_recipient_limit = 1
# Without this, 127.0.0.1 counts as local (permit_inet_interfaces) and cleanup adds
# Message-ID, Date and From to what the client sent.
local_header_rewrite_clients =
message_size_limit = 52428800
mailbox_size_limit = 0
alias_maps =
alias_database =

# No permit_mynetworks: an unauthenticated 127.0.0.1 client gets "Relay access denied".
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_sender_restrictions = check_sender_access texthash:$POSTFIX_ETC/sender_access
smtpd_recipient_restrictions = check_recipient_access texthash:$POSTFIX_ETC/recipient_access

smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
# Relative to the queue directory; Dovecot creates the socket there.
smtpd_sasl_path = private/auth
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = \$smtpd_sasl_security_options

smtpd_tls_security_level = may
smtpd_tls_chain_files = $TLS_DIR/server.key, $TLS_DIR/server.pem
smtpd_tls_session_cache_database =
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
EOF
  printf '%s\n' 'rejected-sender@rig.test 553 5.7.1 Sender not allowed' \
    >"$POSTFIX_ETC/sender_access"
  printf '%s\n' 'reject@rig.test 550 5.1.1 User unknown' \
    'tempfail@rig.test 451 4.3.0 Temporary failure, try again later' \
    >"$POSTFIX_ETC/recipient_access"
  write_master_cf
  setup_cyrus
}

write_master_cf() {
  local addresses=(127.0.0.1) address
  ! have_ipv6 || addresses+=('[::1]')
  local submission='-o smtpd_relay_restrictions=permit_sasl_authenticated,reject'
  local cyrus='-o smtpd_sasl_type=cyrus -o smtpd_sasl_path=smtpd'
  local bare='-o smtpd_discard_ehlo_keywords=silent-discard,pipelining,size,vrfy,etrn'
  bare+=',8bitmime,smtputf8,chunking,dsn,enhancedstatuscodes'
  {
    echo "# Written by scripts/rig/rig.sh. chroot = n everywhere: the Dovecot socket, TLS"
    echo "# files, keytab and delivery script are used where they are."
    echo "# service type  private unpriv  chroot  wakeup  maxproc command + args"
    for address in "${addresses[@]}"; do
      smtpd_line "$address" "$PORT_PLAIN" plain
      smtpd_line "$address" "$PORT_SIZE" size -o message_size_limit=1048576
      smtpd_line "$address" "$PORT_BARE" bare "$bare"
      smtpd_line "$address" "$PORT_NOTLS" notls -o smtpd_tls_security_level=none
      smtpd_line "$address" "$PORT_SUBMISSION" submission -o smtpd_tls_security_level=encrypt \
        -o smtpd_tls_auth_only=yes "$submission"
      smtpd_line "$address" "$PORT_SMTPS" smtps -o smtpd_tls_wrappermode=yes \
        -o smtpd_tls_security_level=encrypt "$submission"
      smtpd_line "$address" "$PORT_BADNAME" badname -o smtpd_tls_wrappermode=yes \
        "-o smtpd_tls_chain_files=$TLS_DIR/wrong-name.key,$TLS_DIR/wrong-name.pem"
      smtpd_line "$address" "$PORT_SELFSIGNED" selfsigned -o smtpd_tls_wrappermode=yes \
        "-o smtpd_tls_chain_files=$TLS_DIR/self-signed.key,$TLS_DIR/self-signed.pem"
      # Exchange-like: Cyrus SASL; LOGIN (plaintext) only after STARTTLS.
      smtpd_line "$address" "$PORT_EXCHANGE" exchange "$cyrus" \
        -o smtpd_sasl_security_options=noanonymous,noplaintext \
        -o smtpd_sasl_tls_security_options=noanonymous
      smtpd_line "$address" "$PORT_EXCHANGE_CLIENT" exchange-client "$cyrus" \
        -o smtpd_tls_security_level=encrypt -o smtpd_tls_auth_only=yes "$submission"
    done
    cat <<EOF
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
rigdeliver unix -       n       n       -       -       pipe
  flags=DRO user=nobody argv=$RIG_DIR/bin/deliver \${sender} \${recipient}
EOF
  } >"$POSTFIX_ETC/master.cf"
}

# smtpd_line ADDRESS PORT NAME [ARG...]: one smtpd listener, logging as postfix/rig-NAME.
smtpd_line() {
  local address=$1 port=$2 name=$3
  shift 3
  printf '%s inet n - n - - smtpd -o syslog_name=postfix/rig-%s' "$address:$port" "$name"
  (($# == 0)) || printf ' %s' "$@"
  printf '\n'
}

start_postfix() {
  # postfix check creates the queue subdirectories, private/ among them, where Dovecot puts
  # its socket; it takes 2 s, so it runs only on a new queue directory (start checks too).
  if [[ ! -d $POSTFIX_QUEUE/private ]]; then
    postfix -c "$POSTFIX_ETC" check </dev/null >>"$LOG_DIR/postfix.stdout" 2>&1 ||
      die "postfix check failed; see $LOG_DIR/postfix.stdout"
  fi
  start_dovecot
  postfix -c "$POSTFIX_ETC" start </dev/null >>"$LOG_DIR/postfix.stdout" 2>&1 9>&- ||
    die "postfix failed to start; see $LOG_DIR/postfix.log and $LOG_DIR/postfix.stdout"
  local port
  wait_for "Postfix on 127.0.0.1:$PORT_PLAIN" 15 smtp_greets "$PORT_PLAIN"
  for port in "${SMTP_PORTS[@]}"; do
    wait_for "Postfix on port $port" 5 listening t "$port"
  done
}

# ----------------------------------------------------------------------------- layout

setup_dirs() {
  mkdir -p "$RIG_DIR" "$RIG_DIR/bin" "$RIG_DIR/run" "$LOG_DIR" "$MAIL_DIR" "$RIG_DIR/verify"
  chmod 755 "$RIG_DIR" "$RIG_DIR/bin" "$RIG_DIR/run" "$LOG_DIR"
  # Written by nobody (the pipe transport); emptied by tests running as any user.
  chown nobody:nogroup "$MAIL_DIR"
  chmod 777 "$MAIL_DIR"
  touch "$MAIL_DIR/deliveries.log"
  chown nobody:nogroup "$MAIL_DIR/deliveries.log"
  chmod 666 "$MAIL_DIR/deliveries.log"
  sed "s|@MAIL_DIR@|$MAIL_DIR|g" "$here/deliver" >"$RIG_DIR/bin/deliver"
  chmod 755 "$RIG_DIR/bin/deliver"
}

setup_hosts() {
  [[ ${RIG_NO_HOSTS:-} != 1 ]] || return 0
  getent hosts "$MAIL_HOST" >/dev/null 2>&1 && return 0
  # Appended after localhost, so reverse lookups of 127.0.0.1 still say localhost.
  if printf '127.0.0.1 %s # added by the rig script\n' "$MAIL_HOST" >>/etc/hosts; then
    say "added '127.0.0.1 $MAIL_HOST' to /etc/hosts (left in place by stop)"
  else
    say "could not add $MAIL_HOST to /etc/hosts: use localhost as the server name"
  fi
}

# ----------------------------------------------------------------------------- commands

print_env() {
  printf 'export RIG_DIR=%q\n' "$RIG_DIR"
  printf 'export KRB5_CONFIG=%q\n' "$KRB_DIR/krb5.conf"
  printf 'export RIG_CA=%q\n' "$TLS_DIR/ca.pem"
  printf 'export RIG_HOST=%q\n' "$(server_name)"
}

print_facts() {
  local name
  name=$(server_name)
  cat <<EOF
rig: running. Connect to 127.0.0.1; use "$name" as the TLS server name and in SPNs.
  ports: plain $PORT_PLAIN, size-limited $PORT_SIZE, bare $PORT_BARE, no-TLS $PORT_NOTLS,
         submission $PORT_SUBMISSION, smtps $PORT_SMTPS, bad-name $PORT_BADNAME,
         self-signed $PORT_SELFSIGNED, exchange $PORT_EXCHANGE,
         exchange-client $PORT_EXCHANGE_CLIENT, KDC $PORT_KDC (realm $REALM)
  users: alice, bob, ulrich (passwords in docs/rig.md); Kerberos: alice, bob
  CA: $TLS_DIR/ca.pem    mail: $MAIL_DIR/<recipient>/new/    logs: $LOG_DIR/
EOF
  print_env
}

# Paths go unquoted into main.cf, master.cf and dovecot.conf, and a Unix socket path is at
# most 107 bytes.
check_rig_dir() {
  [[ $RIG_DIR == /* && $RIG_DIR != *[[:space:],\$\"\'=]* ]] ||
    die "RIG_DIR must be an absolute path without spaces, commas, quotes, '=' or '\$': $RIG_DIR"
  local socket=$POSTFIX_QUEUE/private/auth
  ((${#socket} < 100)) || die "RIG_DIR is too long for Dovecot's socket path: $socket"
}

cmd_start() {
  need_root
  check_rig_dir
  take_lock
  local started=$SECONDS running
  running=$(running_count)
  if ((running == 3)); then
    say "already running ($RIG_DIR)"
    print_facts
    return 0
  fi
  if ((running > 0)); then
    say "partly running: stopping what is left before a fresh start"
    cmd_stop
  fi
  install_packages
  check_ports_free
  # From here on, a failure stops whatever this run started.
  trap 'say "start failed: stopping what was started"; cmd_stop' EXIT
  setup_dirs
  setup_hosts
  setup_tls
  setup_krb5
  setup_dovecot
  setup_postfix
  start_kdc
  start_postfix
  trap - EXIT
  say "started in $((SECONDS - started)) s"
  print_facts
}

cmd_stop() {
  need_root
  if [[ ! -d $RIG_DIR ]]; then
    say "not running ($RIG_DIR does not exist)"
    return 0
  fi
  take_lock
  stop_pids "$PID_POSTFIX:master" "$PID_DOVECOT:dovecot" "$PID_KDC:krb5kdc"
}

cmd_status() {
  local status=0 pid name file port
  for name in krb5kdc:"$PID_KDC" dovecot:"$PID_DOVECOT" master:"$PID_POSTFIX"; do
    file=${name#*:} name=${name%%:*}
    if pid=$(pid_alive "$file" "$name"); then
      say "$name running (pid $pid)"
    else
      say "$name not running"
      status=1
    fi
  done
  for port in "${SMTP_PORTS[@]}"; do
    if listening t "$port"; then say "port $port listening"; else say "port $port closed"; fi
  done
  if listening u "$PORT_KDC"; then
    say "KDC port $PORT_KDC listening"
  else
    say "KDC port $PORT_KDC closed"
    status=1
  fi
  return "$status"
}

case ${1-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) print_env ;;
  verify)
    need_root
    source "$here/verify.sh"
    ;;
  install)
    need_root
    install_packages
    ;;
  *)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
