"""One benchmark run of Python's smtplib (Debian's /usr/bin/python3), one connection.

Usage: python3 python-smtplib.py '<json spec>' where the spec holds host, port, count,
message_path (a message composed once by MailComposer, sent as it is: no composition here),
sender and recipients. Prints one line `BENCH-RESULT <json>` with the same fields as
bench/clients/result.ts. The clock and CPU counters start before the connection and stop
after the last message's final reply, before QUIT; peak RSS is VmHWM (see peak_rss_bytes).
"""
import json
import resource
import smtplib
import sys
import time


def peak_rss_bytes(fallback_kb: int) -> int:
    """VmHWM of this process's own address space. ru_maxrss is not used: Linux carries it
    across exec from the address space the process was forked with (the large Node parent)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return fallback_kb * 1024


def main() -> int:
    spec = json.loads(sys.argv[1])
    with open(spec["message_path"], "rb") as handle:
        message = handle.read()
    errors = 0
    first_error = None
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    client = smtplib.SMTP(spec["host"], spec["port"], local_hostname="bench.example.com")
    client.ehlo()
    for _ in range(spec["count"]):
        try:
            refused = client.sendmail(spec["sender"], spec["recipients"], message)
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
        except smtplib.SMTPException as error:
            errors += 1
            first_error = first_error or repr(error)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    client.quit()
    result = {
        "messages": spec["count"] - errors,
        "bytes": len(message) * (spec["count"] - errors),
        "wallSeconds": wall,
        "cpuUserSeconds": after.ru_utime - before.ru_utime,
        "cpuSystemSeconds": after.ru_stime - before.ru_stime,
        "peakRssBytes": peak_rss_bytes(after.ru_maxrss),
        "errors": errors,
    }
    if first_error is not None:
        result["firstError"] = first_error
    print("BENCH-RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
