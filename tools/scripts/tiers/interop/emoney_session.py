#!/usr/bin/python3
# An authenticated e-money session through pcscd with pyscard (interop.md 4.4), run by the interop tier.
# This script sequences the APDUs (built here from apdu-specs/REFERENCE.md) and judges the answers
# against the card's profile; the key-holder part (AUTHENTICATE's 3-pass core, SM wrapping) is asked
# of mica's sam-helper over a pipe. Prints one JSON object per check; exit status 0 when all passed.
# Usage: emoney_session.py <reader> <profile.json> <helper command...>
import json
import subprocess
import sys

from smartcard.System import readers

reader_name, profile_path, helper = sys.argv[1], sys.argv[2], sys.argv[3:]
profile = json.load(open(profile_path))
failures = 0


def check(name, ok, detail=""):
    global failures
    if not ok:
        failures += 1
    print(json.dumps({"check": name, "ok": bool(ok), "detail": detail}), flush=True)


def find_area(areas, code):
    for a in areas:
        if a["code"] == code:
            return a
        found = find_area(a.get("areas", []), code)
        if found:
            return found
    return None


applet = next(a for a in profile["applets"] if a["kind"] == "emoney")
area = find_area(profile["systems"][0]["areas"], applet["area"])
purse = next(s for s in area["services"] if "purse" in s)
suite = profile["chip"].get("suite", "2k3des")
aid = bytes.fromhex(applet["aid"])
area_code = int(applet["area"], 16)

sam = subprocess.Popen(
    helper + [suite, area["key"]["value"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
)


def ask(op, data):
    sam.stdin.write("%s %s\n" % (op, data.hex()))
    sam.stdin.flush()
    return sam.stdout.readline().strip()


names = [str(r) for r in readers()]
check("pyscard lists the reader", reader_name in names, names)
conn = next(r for r in readers() if str(r) == reader_name).createConnection()
conn.connect()
check("T=1 protocol (vpcd)", conn.getProtocol() == 2, conn.getProtocol())


def transmit(apdu):
    data, sw1, sw2 = conn.transmit(list(apdu))
    return bytes(data), (sw1 << 8) | sw2


# SELECT by AID: FCI 6F L 84 L AID.
data, sw = transmit(bytes([0x00, 0xA4, 0x04, 0x00, len(aid)]) + aid + b"\x00")
fci = bytes([0x6F, len(aid) + 2, 0x84, len(aid)]) + aid
check("SELECT e-money answers its FCI", (data, sw) == (fci, 0x9000), data.hex() + " %04x" % sw)

# Without a session, GET BALANCE in SM is refused (6982) and plain too.
data, sw = transmit(bytes([0x80, 0x5C, 0x00, 0x00, 0x00]))
check("GET BALANCE without a session is refused", sw == 0x6982, "%04x" % sw)

# AUTHENTICATE: 80 88 00 00, n ‖ node codes (the area), Le 00; then 80 88 01 00 readerResponse.
data, sw = transmit(bytes([0x80, 0x88, 0x00, 0x00, 3, 1, area_code >> 8, area_code & 0xFF, 0x00]))
check("AUTHENTICATE part 1 gives a card challenge", sw == 0x9000 and len(data) in (8, 16, 32), "%04x" % sw)
rr = bytes.fromhex(ask("challenge", data))
data, sw = transmit(bytes([0x80, 0x88, 0x01, 0x00, len(rr)]) + rr + b"\x00")
check("AUTHENTICATE part 2 accepted", sw == 0x9000, "%04x" % sw)
check("the card proves the key", ask("confirm", data) == "ok")


def secure(plain):
    wrapped = bytes.fromhex(ask("wrap", plain))
    data, sw = transmit(wrapped)
    opened = ask("unwrap", data + bytes([sw >> 8, sw & 0xFF]))
    if opened.startswith("fail"):
        return None, opened
    b = bytes.fromhex(opened)
    return b[:-2], (b[-2] << 8) | b[-1]


start = purse["purse"]["balance"]
data, sw = secure(bytes([0x80, 0x5C, 0x00, 0x00, 0x00]))
check("GET BALANCE in SM = the profile's balance", sw == 0x9000 and int.from_bytes(data[:4], "big") == start,
      "%s %s" % (data.hex() if data else data, sw))

charge = bytes.fromhex("c0ff00000000a001")
body = charge + (300).to_bytes(4, "big") + (9000).to_bytes(2, "big") + bytes([7])
data, sw = secure(bytes([0x80, 0x30, 0x02, 0x00, len(body)]) + body + b"\x00")
check("AMOUNT CHANGE subtract 300", sw == 0x9000 and int.from_bytes(data[:4], "big") == start - 300,
      "%s %s" % (data.hex() if data else data, sw))

data, sw = secure(bytes([0x80, 0x30, 0x02, 0x00, len(body)]) + body + b"\x00")
check("the same charge ID again is refused (69E1)", sw == 0x69E1, "%s" % sw)

data, sw = secure(bytes([0x80, 0xB2, 0x00, 0x00, 0x00]))
check("READ LOG holds the charge", sw == 0x9000 and len(data) >= 16 and charge in data,
      data.hex() if data else str(sw))

# A tampered MAC ends the session: the card answers without SM data objects.
wrapped = bytearray(bytes.fromhex(ask("wrap", bytes([0x80, 0x5C, 0x00, 0x00, 0x00]))))
wrapped[-2] ^= 0x01
data, sw = transmit(bytes(wrapped))
check("a wrong MAC is refused (6988)", sw == 0x6988 and data == b"", "%04x" % sw)

conn.disconnect()
sam.stdin.close()
sam.wait(timeout=10)
sys.exit(1 if failures else 0)
