# Sourced by `rig.sh verify` (not run on its own): proves the running rig with real clients
# (swaks, openssl s_client, msmtp, gsasl). Each check prints PASS or FAIL; the command and its
# output are kept in $RIG_DIR/verify/<check>.out. A check that expects delivery also waits
# for its unique token in the recipient's Maildir; a check that expects a failure also looks
# for the server's reply text. Exit status: the number of failed checks (0 when all pass).

verify_dir=$RIG_DIR/verify
mkdir -p "$verify_dir"
rm -f "$verify_dir"/*.out
CA=$TLS_DIR/ca.pem
NAME=$(server_name)
passed=0
failed=0
failed_names=()

# check NAME EXPECT RECIPIENT-OR-PATTERN COMMAND
#   EXPECT=ok:   COMMAND exits 0, and when RECIPIENT is not '-' the token reaches its Maildir.
#   EXPECT=fail: COMMAND exits non-zero and its output matches the extended regex PATTERN.
# COMMAND is a string evaluated by bash with $TOKEN set to a unique value.
check() {
  local name=$1 expect=$2 target=$3 command=$4 out=$verify_dir/$1.out status=0 verdict=FAIL
  TOKEN="rig-verify-$name-$EPOCHSECONDS-$RANDOM"
  printf '$ %s\n' "$command" >"$out"
  (eval "$command") </dev/null >>"$out" 2>&1 || status=$?
  printf '# exit %d\n' "$status" >>"$out"
  if [[ $expect == ok ]] && ((status == 0)); then
    if [[ $target == - ]] || wait_token "$target" "$TOKEN"; then
      verdict=PASS
    else
      printf '# token not delivered to %s\n' "$target" >>"$out"
    fi
  elif [[ $expect == fail ]] && ((status != 0)) && grep -Eq -- "$target" "$out"; then
    verdict=PASS
  fi
  if [[ $verdict == PASS ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
  printf '%s  %s\n' "$verdict" "$name"
}

skip() { printf 'SKIP  %s (%s)\n' "$1" "$2"; }

# wait_token RECIPIENT TOKEN: up to 10 s for a delivered file containing TOKEN, which is
# then removed (the checks would otherwise pile up megabytes in bob's Maildir).
wait_token() {
  local box i files
  box=$MAIL_DIR/$(printf '%s' "$1" | LC_ALL=C tr 'A-Z' 'a-z' | LC_ALL=C tr -c 'a-z0-9@._+=-' '_')
  for ((i = 0; i < 100; i++)); do
    files=$(grep -rlF -- "$2" "$box/new" 2>/dev/null) || true
    if [[ -n $files ]]; then
      printf '# delivered: %s\n' $files >>"$out"
      rm -f $files
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# What Postfix answers a RCPT on a port that needs AUTH, when the client has none.
DENIED='554 5\.7\.1 <bob@rig\.test>: Recipient address rejected: Access denied'
S='swaks --server 127.0.0.1 --ehlo client.rig.test --from alice@rig.test --timeout 20'
S+=' --header "Subject: $TOKEN" --body "token $TOKEN"'
TLS="--tls --tls-verify --tls-ca-path $CA"
WRAP="--tls-on-connect --tls-verify --tls-ca-path $CA"
ALICE='--auth-user alice --auth-password alice-Secret-1'
ULRICH="--auth-user ulrich --auth-password 'Pässwörd-€-3'"
# A message for msmtp, which sends stdin as it is.
MSG='printf "From: alice@rig.test\nTo: bob@rig.test\nSubject: %s\n\ntoken %s\n" "$TOKEN" "$TOKEN"'
M="msmtp -C /dev/null --host=$NAME --domain=client.rig.test --from=alice@rig.test"
M+=" --tls-trust-file=$CA --user=alice"

big_body() { head -c "$1" /dev/zero | tr '\0' 'x' | fold -w 76 >"$verify_dir/body-$1.txt"; }
big_body 900000
big_body 1500000
BODY900=$verify_dir/body-900000.txt
BODY1500=$verify_dir/body-1500000.txt

say "verifying the rig in $RIG_DIR with server name $NAME"

# --- 3525 plain: STARTTLS offered, Dovecot AUTH also in clear text, relay only with AUTH.
check plain-noauth ok bob@rig.test "$S --port $PORT_PLAIN --to bob@rig.test"
check plain-starttls ok bob@rig.test "$S --port $PORT_PLAIN --to bob@rig.test $TLS"
for mech in PLAIN LOGIN CRAM-MD5; do
  check "relay-tls-$mech" ok someone@example.com \
    "$S --port $PORT_PLAIN --to someone@example.com $TLS --auth $mech $ALICE"
  check "cleartext-$mech" ok bob@rig.test \
    "$S --port $PORT_PLAIN --to bob@rig.test --auth $mech $ALICE"
  check "ulrich-$mech" ok bob@rig.test \
    "$S --port $PORT_PLAIN --to bob@rig.test $TLS --auth $mech $ULRICH"
  check "wrong-password-$mech" fail '535 5\.7\.8 Error: authentication failed' \
    "$S --port $PORT_PLAIN --to bob@rig.test $TLS --auth $mech --auth-user alice \
      --auth-password wrong-password"
done
check user-with-domain ok bob@rig.test \
  "$S --port $PORT_PLAIN --to bob@rig.test $TLS --auth PLAIN --auth-user alice@rig.test \
    --auth-password alice-Secret-1"
check user-upper-case ok bob@rig.test \
  "$S --port $PORT_PLAIN --to bob@rig.test $TLS --auth LOGIN --auth-user ALICE \
    --auth-password alice-Secret-1"
check ipv6-starttls ok bob@rig.test \
  "swaks --server ::1 --port $PORT_PLAIN --from alice@rig.test --to bob@rig.test \
    --header \"Subject: \$TOKEN\" $TLS --auth PLAIN $ALICE"
check relay-denied fail '554 5\.7\.1 <someone@example\.com>: Relay access denied' \
  "$S --port $PORT_PLAIN --to someone@example.com"
check no-ntlm-on-dovecot fail 'not advertised|does not support|NTLM' \
  "$S --port $PORT_PLAIN --to bob@rig.test --auth NTLM $ALICE"
check reject-recipient fail \
  '550 5\.1\.1 <reject@rig\.test>: Recipient address rejected: User unknown' \
  "$S --port $PORT_PLAIN --to reject@rig.test"
check tempfail-recipient fail '451 4\.3\.0 .*Temporary failure, try again later' \
  "$S --port $PORT_PLAIN --to tempfail@rig.test"
check rejected-sender fail '553 5\.7\.1 .*Sender address rejected: Sender not allowed' \
  "swaks --server 127.0.0.1 --port $PORT_PLAIN --from rejected-sender@rig.test --to bob@rig.test"
check big-on-plain ok bob@rig.test \
  "$S --port $PORT_PLAIN --to bob@rig.test --body @$BODY1500"

# --- 3526 size limit, 3527 bare EHLO, 3524 no TLS.
check size-advertised ok - \
  "$S --port $PORT_SIZE --quit-after EHLO | grep -F '250-SIZE 1048576'"
check size-under-limit ok bob@rig.test \
  "$S --port $PORT_SIZE --to bob@rig.test --body @$BODY900"
check size-over-limit fail '552 5\.3\.4 (Error: message file too big|Message size exceeds)' \
  "$S --port $PORT_SIZE --to bob@rig.test --body @$BODY1500"
check bare-ehlo ok - \
  "e=\$($S --port $PORT_BARE --quit-after EHLO); echo \"\$e\"; \
    grep -q '250-STARTTLS' <<<\"\$e\" && grep -q '250[- ]AUTH ' <<<\"\$e\" && \
    ! grep -Eq 'PIPELINING|SIZE|8BITMIME|SMTPUTF8|CHUNKING|DSN|ENHANCEDSTATUSCODES' <<<\"\$e\""
check bare-auth ok bob@rig.test "$S --port $PORT_BARE --to bob@rig.test $TLS --auth PLAIN $ALICE"
check notls-login ok bob@rig.test "$S --port $PORT_NOTLS --to bob@rig.test --auth LOGIN $ALICE"
check notls-no-starttls fail 'STARTTLS' "$S --port $PORT_NOTLS --to bob@rig.test --tls"

# --- 3587 submission, 3465 SMTPS.
for mech in PLAIN LOGIN CRAM-MD5; do
  check "submission-$mech" ok bob@rig.test \
    "$S --port $PORT_SUBMISSION --to bob@rig.test $TLS --auth $mech $ALICE"
  check "smtps-$mech" ok bob@rig.test \
    "$S --port $PORT_SMTPS --to bob@rig.test $WRAP --auth $mech $ALICE"
done
for mech in scram-sha-1 scram-sha-256; do
  check "submission-msmtp-$mech" ok bob@rig.test \
    "$MSG | $M --port=$PORT_SUBMISSION --tls=on --tls-starttls=on --auth=$mech \
      --passwordeval='echo alice-Secret-1' bob@rig.test"
done
check submission-needs-starttls fail '530 5\.7\.0 Must issue a STARTTLS command first' \
  "$S --port $PORT_SUBMISSION --to bob@rig.test"
check submission-no-auth-before-tls fail 'Host did not advertise authentication' \
  "$S --port $PORT_SUBMISSION --to bob@rig.test --auth PLAIN $ALICE"
check submission-needs-auth fail "$DENIED" \
  "$S --port $PORT_SUBMISSION --to bob@rig.test $TLS"
check smtps-needs-auth fail "$DENIED" \
  "$S --port $PORT_SMTPS --to bob@rig.test $WRAP"
check smtps-hostname ok - \
  "openssl s_client -connect 127.0.0.1:$PORT_SMTPS -servername $NAME -verify_hostname $NAME \
    -CAfile $CA -verify_return_error -brief </dev/null"
check submission-hostname ok - \
  "openssl s_client -connect 127.0.0.1:$PORT_SUBMISSION -starttls smtp -servername $NAME \
    -verify_hostname $NAME -CAfile $CA -verify_return_error -brief </dev/null"

# --- 3466 wrong name, 3467 self-signed.
check badname-mismatch fail 'hostname mismatch|verify error' \
  "openssl s_client -connect 127.0.0.1:$PORT_BADNAME -servername $NAME -verify_hostname $NAME \
    -CAfile $CA -verify_return_error -brief </dev/null"
check badname-chain-ok ok - \
  "openssl s_client -connect 127.0.0.1:$PORT_BADNAME -verify_hostname wrong-name.invalid \
    -CAfile $CA -verify_return_error -brief </dev/null"
check selfsigned-untrusted fail 'self-signed|self signed|verify error' \
  "openssl s_client -connect 127.0.0.1:$PORT_SELFSIGNED -CAfile $CA -verify_return_error \
    -brief </dev/null"
check selfsigned-swaks-verify fail 'TLS|certificate|verify' \
  "$S --port $PORT_SELFSIGNED --to bob@rig.test $WRAP"
check selfsigned-unverified ok bob@rig.test \
  "$S --port $PORT_SELFSIGNED --to bob@rig.test --tls-on-connect --auth PLAIN $ALICE"

# --- 3625 / 3687 Exchange-like, Cyrus SASL.
check exchange-ntlm ok someone@example.com \
  "$S --port $PORT_EXCHANGE --to someone@example.com --auth NTLM $ALICE"
check exchange-ntlm-domain ok bob@rig.test \
  "$S --port $PORT_EXCHANGE --to bob@rig.test --auth NTLM $ALICE --auth-extra domain=RIG"
check exchange-ntlm-ulrich ok bob@rig.test \
  "$S --port $PORT_EXCHANGE --to bob@rig.test --auth NTLM $ULRICH"
check exchange-ntlm-wrong fail '535' \
  "$S --port $PORT_EXCHANGE --to bob@rig.test --auth NTLM --auth-user alice \
    --auth-password wrong-password"
check exchange-no-login-before-tls fail 'requested type not available' \
  "$S --port $PORT_EXCHANGE --to bob@rig.test --auth LOGIN $ALICE"
check exchange-login-tls ok someone@example.com \
  "$S --port $PORT_EXCHANGE --to someone@example.com $TLS --auth LOGIN $ALICE"
check exchange-client-ntlm ok bob@rig.test \
  "$S --port $PORT_EXCHANGE_CLIENT --to bob@rig.test $TLS --auth NTLM $ALICE"
check exchange-client-login ok bob@rig.test \
  "$S --port $PORT_EXCHANGE_CLIENT --to bob@rig.test $TLS --auth LOGIN $ALICE"
check exchange-client-needs-auth fail "$DENIED" \
  "$S --port $PORT_EXCHANGE_CLIENT --to bob@rig.test $TLS"

# --- GSSAPI (Kerberos): msmtp and gsasl with a ticket for alice in a ccache of our own.
export KRB5_CONFIG=$KRB_DIR/krb5.conf
export KRB5CCNAME=FILE:$verify_dir/krb5cc_verify
unset KRB5_KTNAME
check gssapi-no-ticket fail 'GSSAPI|credentials|Kerberos|authentication' \
  "$MSG | $M --port=$PORT_SUBMISSION --tls=on --tls-starttls=on --auth=gssapi bob@rig.test"
if printf 'alice-Secret-1\n' | kinit "alice@$REALM" >"$verify_dir/kinit.out" 2>&1; then
  check gssapi-msmtp-smtps ok bob@rig.test \
    "$MSG | $M --port=$PORT_SMTPS --tls=on --tls-starttls=off --auth=gssapi bob@rig.test"
  check gssapi-msmtp-submission ok bob@rig.test \
    "$MSG | $M --port=$PORT_SUBMISSION --tls=on --tls-starttls=on --auth=gssapi bob@rig.test"
  check gssapi-msmtp-localhost-spn ok bob@rig.test \
    "$MSG | ${M/--host=$NAME/--host=localhost} --port=$PORT_PLAIN --tls=off --auth=gssapi \
      bob@rig.test"
  check gssapi-gsasl-submission ok - \
    "gsasl --client --smtp --connect $NAME:$PORT_SUBMISSION --starttls --x509-ca-file $CA \
      -m GSSAPI -a alice --service smtp --hostname $NAME --quiet"
  # The client asks the KDC for smtp/127.0.0.1, which does not exist: the KDC log says so.
  check gssapi-by-ip fail 'smtp/127\.0\.0\.1@RIG\.TEST, Server not found in Kerberos database' \
    "gsasl --client --smtp --connect 127.0.0.1:$PORT_PLAIN --no-starttls -m GSSAPI -a alice \
      --service smtp --hostname 127.0.0.1 --quiet; s=\$?; tail -n 1 $LOG_DIR/krb5kdc.log; \
      exit \$s"
  if [[ $NAME == "$MAIL_HOST" ]]; then
    check gssapi-gsasl-exchange ok - \
      "gsasl --client --smtp --connect $NAME:$PORT_EXCHANGE --no-starttls -m GSSAPI -a alice \
        --service smtp --hostname $NAME --quiet"
    check gssapi-msmtp-exchange-client ok bob@rig.test \
      "$MSG | $M --port=$PORT_EXCHANGE_CLIENT --tls=on --tls-starttls=on --auth=gssapi \
        bob@rig.test"
  else
    skip gssapi-exchange "Cyrus accepts only smtp/$MAIL_HOST, which does not resolve"
  fi
  kdestroy >/dev/null 2>&1 || true
else
  check kinit-alice ok - "false # kinit failed: see $verify_dir/kinit.out"
fi

say "verify: $passed passed, $failed failed; outputs in $verify_dir/"
((failed == 0)) || say "failed: ${failed_names[*]}"
rm -f "$BODY900" "$BODY1500"
exit "$failed"
