#!/usr/bin/python3
"""pymodbus_client.py -- drives icsrange's Modbus/TCP server with pymodbus.

Run by tests/interop/test_pymodbus.c under /usr/bin/python3 (Debian's
python3-pymodbus 3.0):

    pymodbus_client.py PORT main    every function code, exception and framing case
    pymodbus_client.py PORT busy    the comms budget (exception 06)

Prints one JSON object per check on stdout, {"check": NAME, ...what was
seen}; the C test holds the expected values. A check that raised prints
{"check": NAME, "error": TEXT}. Requests pymodbus will not build (bad
quantities, malformed PDUs, other unit ids, bad MBAP headers) go through a
raw socket.
"""
import json
import socket
import struct
import sys
import time
import traceback

from pymodbus import diag_message as dm
from pymodbus.client import ModbusTcpClient
from pymodbus.mei_message import ReadDeviceInformationRequest
from pymodbus.other_message import ReportSlaveIdRequest
from pymodbus.pdu import ExceptionResponse

HOST = "127.0.0.1"
PORT = int(sys.argv[1])
MODE = sys.argv[2] if len(sys.argv) > 2 else "main"
UNIT = 1


def emit(name, **fields):
    fields = dict(check=name, **fields)
    print(json.dumps(fields), flush=True)


def run(name, fn):
    try:
        fields = fn()
        emit(name, **(fields or {}))
    except Exception as exc:  # one check failing must not hide the others
        emit(name, error=f"{type(exc).__name__}: {exc}",
             trace=traceback.format_exc().splitlines()[-3:])


def outcome(rsp):
    """What a pymodbus response says, as JSON fields."""
    if isinstance(rsp, ExceptionResponse):
        return {"exception": rsp.exception_code, "fc": rsp.original_code}
    if rsp is None or rsp.isError():
        return {"error": str(rsp)}
    return {"unit": getattr(rsp, "unit_id", None)}


# ---- raw frames ----

class Raw:
    """A plain TCP connection that sends ADUs as given."""

    def __init__(self, timeout=0.5):
        self.s = socket.create_connection((HOST, PORT), timeout=5)
        self.s.settimeout(timeout)
        self.tid = 0x4000

    def send(self, data):
        self.s.sendall(data)

    def adu(self, pdu, unit=UNIT, pid=0, length=None):
        self.tid += 1
        n = len(pdu) + 1 if length is None else length
        return struct.pack(">HHHB", self.tid, pid, n, unit) + pdu

    def recv_adu(self):
        """One response ADU: (tid, pid, unit, pdu); None on timeout; b"" when
        the server closed the connection."""
        try:
            head = self._recv_exact(7)
        except socket.timeout:
            return None
        if head is None:
            return b""
        tid, pid, n, unit = struct.unpack(">HHHB", head)
        pdu = self._recv_exact(n - 1)
        return (tid, pid, unit, pdu)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.s.recv(n - len(buf))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def call(self, pdu, unit=UNIT):
        """Sends one request; returns the response PDU as hex, None (no
        answer) or "closed"."""
        self.send(self.adu(pdu, unit))
        r = self.recv_adu()
        if r is None:
            return None
        if r == b"":
            return "closed"
        tid, pid, u, rpdu = r
        if tid != self.tid or pid != 0 or u != unit:
            return f"mismatch tid {tid} pid {pid} unit {u}"
        return rpdu.hex()

    def close(self):
        self.s.close()


def raw_call(pdu, unit=UNIT):
    r = Raw()
    try:
        return r.call(pdu, unit)
    finally:
        r.close()


def pdu(fc, fmt="", *vals):
    return struct.pack(">B" + fmt, fc, *vals)


# ---- the checks ----

def main_checks(c):
    # reads of the four tables (values from the test's map file)
    run("fc1", lambda: dict(bits=[int(b) for b in c.read_coils(0, 12, slave=UNIT).bits[:12]]))
    run("fc2", lambda: dict(bits=[int(b) for b in
                                  c.read_discrete_inputs(0, 5, slave=UNIT).bits[:5]]))
    run("fc3", lambda: dict(values=c.read_holding_registers(0, 3, slave=UNIT).registers))
    run("fc4", lambda: dict(values=c.read_input_registers(0, 4, slave=UNIT).registers))
    run("fc3_unit255", lambda: dict(values=c.read_holding_registers(0, 1, slave=255).registers))
    run("fc3_unit0", lambda: dict(values=c.read_holding_registers(0, 1, slave=0).registers))

    # writes, each read back
    def fc5():
        w = c.write_coil(40, True, slave=UNIT)
        w2 = c.write_coil(41, False, slave=UNIT)
        return dict(echo=[w.address, int(w.value), w2.address, int(w2.value)],
                    bits=[int(b) for b in c.read_coils(40, 2, slave=UNIT).bits[:2]])
    run("fc5", fc5)

    def fc6():
        w = c.write_register(60, 0xBEEF, slave=UNIT)
        return dict(echo=[w.address, w.value],
                    values=c.read_holding_registers(60, 1, slave=UNIT).registers)
    run("fc6", fc6)

    def fc15():
        bits = [True, False, True, True, False, False, True, False, True]
        w = c.write_coils(50, bits, slave=UNIT)
        return dict(echo=[w.address, w.count],
                    bits=[int(b) for b in c.read_coils(50, 9, slave=UNIT).bits[:9]])
    run("fc15", fc15)

    def fc16():
        w = c.write_registers(61, [1, 2, 3, 65535], slave=UNIT)
        return dict(echo=[w.address, w.count],
                    values=c.read_holding_registers(61, 4, slave=UNIT).registers)
    run("fc16", fc16)

    def fc22():
        w = c.mask_write_register(address=70, and_mask=0xF0F0, or_mask=0x0A0A, unit=UNIT)
        return dict(echo=[w.address, w.and_mask, w.or_mask],
                    values=c.read_holding_registers(70, 1, slave=UNIT).registers)
    run("fc22", fc22)

    def fc23():
        r = c.readwrite_registers(read_address=80, read_count=4, write_address=81,
                                  write_registers=[7, 8], unit=UNIT)
        return dict(values=r.registers)
    run("fc23", fc23)

    # FC 8 diagnostics
    run("fc8_echo", lambda: dict(message=c.diag_query_data(0x1234, slave=UNIT).message))
    run("fc8_restart", lambda: dict(
        message=c.diag_restart_communication(False, slave=UNIT).message))
    # pymodbus 3.0's diag_* helpers built on DiagnosticStatusSimpleRequest
    # pass `slave` as the request's data word (and send to unit 0): build
    # those requests directly
    def diag(cls):
        r = c.execute(cls(unit=UNIT))
        return r.message[0] if not r.isError() else outcome(r)
    run("fc8_register", lambda: dict(message=diag(dm.ReturnDiagnosticRegisterRequest)))
    run("fc8_clear", lambda: dict(message=diag(dm.ClearCountersRequest)))

    # counters after the clear: one exception, then the counters in order
    def counters():
        ex = c.read_holding_registers(1000, 1, slave=UNIT)
        out = dict(trigger=getattr(ex, "exception_code", None))
        for name, cls in [("exceptions", dm.ReturnBusExceptionErrorCountRequest),
                          ("bus_messages", dm.ReturnBusMessageCountRequest),
                          ("server_messages", dm.ReturnSlaveMessageCountRequest),
                          ("no_response", dm.ReturnSlaveNoResponseCountRequest),
                          ("comm_errors", dm.ReturnBusCommunicationErrorCountRequest),
                          ("nak", dm.ReturnSlaveNAKCountRequest),
                          ("busy", dm.ReturnSlaveBusyCountRequest),
                          ("overrun", dm.ReturnSlaveBusCharacterOverrunCountRequest)]:
            out[name] = diag(cls)
        return out
    run("fc8_counters", counters)

    # FC 8 sub-functions the server does not support: 01
    run("fc8_sub03", lambda: outcome(c.execute(dm.ChangeAsciiInputDelimiterRequest(unit=UNIT))))
    run("fc8_sub13", lambda: outcome(c.execute(dm.ReturnIopOverrunCountRequest(unit=UNIT))))
    run("fc8_sub15", lambda: outcome(c.execute(dm.GetClearModbusPlusRequest(unit=UNIT))))
    # the data word of a counter read must be 0000: 03
    run("fc8_counter_data1", lambda: outcome(c.execute(
        dm.ReturnBusMessageCountRequest(data=1, unit=UNIT))))

    # FC 17
    def fc17():
        r = c.execute(ReportSlaveIdRequest(unit=UNIT))
        return dict(identifier=r.identifier.hex(), byte_count=r.byte_count, status=r.status,
                    unit=r.unit_id)
    run("fc17", fc17)

    # FC 43 / 14: stream access follows more-follows
    def devid_stream(code):
        info, rounds, start = {}, [], 0
        for _ in range(20):
            r = c.execute(ReadDeviceInformationRequest(read_code=code, object_id=start,
                                                       unit=UNIT))
            if r.isError():
                return dict(outcome(r), rounds=rounds)
            rounds.append([r.more_follows, r.next_object_id, r.number_of_objects])
            for k, v in r.information.items():
                info[f"0x{k:02x}"] = v.decode("latin-1") if isinstance(v, bytes) else str(v)
            conformity = r.conformity
            if r.more_follows != 0xFF:
                break
            start = r.next_object_id
        return dict(objects=info, rounds=rounds, conformity=conformity, read_code=r.read_code)
    run("fc43_basic", lambda: devid_stream(1))
    run("fc43_regular", lambda: devid_stream(2))
    run("fc43_extended", lambda: devid_stream(3))

    def individual(obj):
        r = c.execute(ReadDeviceInformationRequest(read_code=4, object_id=obj, unit=UNIT))
        if r.isError():
            return outcome(r)
        return dict(objects={f"0x{k:02x}": v.decode("latin-1") for k, v in
                             r.information.items()},
                    count=r.number_of_objects, more=r.more_follows)
    run("fc43_individual_05", lambda: individual(0x05))
    run("fc43_individual_81", lambda: individual(0x81))
    run("fc43_individual_absent", lambda: individual(0x90))

    # exception 01: function codes the server does not have
    run("ex01_fc7", lambda: outcome(c.read_exception_status(slave=UNIT)))
    run("ex01_raw_fc65", lambda: dict(pdu=raw_call(pdu(0x41, "H", 0))))
    run("ex01_raw_mei13", lambda: dict(pdu=raw_call(pdu(0x2B, "BBB", 0x0D, 0, 0))))

    # exception 02: outside a table (sizes from the map file)
    run("ex02_fc1", lambda: outcome(c.read_coils(100, 1, slave=UNIT)))
    run("ex02_fc2", lambda: outcome(c.read_discrete_inputs(98, 3, slave=UNIT)))
    run("ex02_fc3", lambda: outcome(c.read_holding_registers(199, 2, slave=UNIT)))
    run("ex02_fc4", lambda: outcome(c.read_input_registers(100, 1, slave=UNIT)))
    run("ex02_fc5", lambda: outcome(c.write_coil(100, True, slave=UNIT)))
    run("ex02_fc6", lambda: outcome(c.write_register(200, 1, slave=UNIT)))
    run("ex02_fc15", lambda: outcome(c.write_coils(99, [True, True], slave=UNIT)))
    run("ex02_fc16", lambda: outcome(c.write_registers(198, [1, 2, 3], slave=UNIT)))
    run("ex02_fc22", lambda: outcome(c.mask_write_register(address=200, and_mask=0,
                                                           or_mask=0, unit=UNIT)))
    def ex02_fc23():
        r = outcome(c.readwrite_registers(read_address=199, read_count=2, write_address=90,
                                          write_registers=[1], unit=UNIT))
        r["after"] = c.read_holding_registers(90, 1, slave=UNIT).registers
        return r
    run("ex02_fc23", ex02_fc23)

    # exception 03: quantities, byte counts and values (raw where pymodbus
    # would refuse or could not say it)
    run("ex03_fc3_126", lambda: outcome(c.read_holding_registers(0, 126, slave=UNIT)))
    run("ex03_fc1_2001", lambda: outcome(c.read_coils(0, 2001, slave=UNIT)))
    run("ex03_raw_fc3_qty0", lambda: dict(pdu=raw_call(pdu(0x03, "HH", 0, 0))))
    run("ex03_raw_fc4_qty0", lambda: dict(pdu=raw_call(pdu(0x04, "HH", 0, 0))))
    run("ex03_raw_fc5_value", lambda: dict(pdu=raw_call(pdu(0x05, "HH", 0, 0x1234))))
    run("ex03_raw_fc15_bytecount",
        lambda: dict(pdu=raw_call(pdu(0x0F, "HHBB", 0, 9, 1, 0xFF))))
    run("ex03_raw_fc16_bytecount",
        lambda: dict(pdu=raw_call(pdu(0x10, "HHBH", 0, 2, 2, 7))))
    run("ex03_raw_fc16_qty124",
        lambda: dict(pdu=raw_call(pdu(0x10, "HHB", 0, 124, 248) + bytes(248)[:240])))
    run("ex03_raw_fc23_wqty0",
        lambda: dict(pdu=raw_call(pdu(0x17, "HHHHB", 0, 1, 0, 0, 0))))
    run("ex03_raw_fc43_code5", lambda: dict(pdu=raw_call(pdu(0x2B, "BBB", 0x0E, 5, 0))))
    run("ex03_raw_fc8_restart_data",
        lambda: dict(pdu=raw_call(pdu(0x08, "HH", 0x0001, 0x1234))))

    # units: 0, 1, 255 answer; others are silent (a direct device)
    run("unit7_silent", lambda: dict(pdu=raw_call(pdu(0x03, "HH", 0, 1), unit=7)))
    run("unit255_raw", lambda: dict(pdu=raw_call(pdu(0x03, "HH", 0, 1), unit=255)))

    # framing: one request in 1-byte segments, two requests in one segment
    def segmented():
        r = Raw(timeout=2)
        try:
            frame = r.adu(pdu(0x03, "HH", 1, 2))
            for b in frame:
                r.send(bytes([b]))
                time.sleep(0.002)
            a = r.recv_adu()
            f1, f2 = r.adu(pdu(0x04, "HH", 0, 1)), r.adu(pdu(0x03, "HH", 2, 1))
            r.send(f1 + f2[:5])
            time.sleep(0.05)
            r.send(f2[5:])
            b1, b2 = r.recv_adu(), r.recv_adu()
            return dict(one=[a[0], a[3].hex()], two=[[b1[0], b1[3].hex()],
                                                     [b2[0], b2[3].hex()]],
                        tids=[r.tid - 2, r.tid - 1, r.tid])
        finally:
            r.close()
    run("framing", segmented)

    # a bad MBAP header closes the connection without an answer
    def bad_mbap(pid, length):
        r = Raw(timeout=2)
        try:
            r.send(r.adu(pdu(0x03, "HH", 0, 1), pid=pid, length=length))
            got = r.recv_adu()
            return dict(result="closed" if got == b"" else
                        "timeout" if got is None else got[3].hex())
        finally:
            r.close()
    run("mbap_protocol1", lambda: bad_mbap(1, None))
    run("mbap_length300", lambda: bad_mbap(0, 300))
    run("after_bad_mbap", lambda: dict(values=c.read_holding_registers(0, 1,
                                                                       slave=UNIT).registers))

    # listen-only (FC 8/04): silent until a restart (FC 8/01), itself silent
    def listen_only():
        r = Raw(timeout=0.4)
        try:
            out = {}
            out["force"] = r.call(pdu(0x08, "HH", 0x0004, 0))
            out["read_while"] = r.call(pdu(0x03, "HH", 0, 1))
            out["restart"] = r.call(pdu(0x08, "HH", 0x0001, 0))
            out["read_after"] = r.call(pdu(0x03, "HH", 0, 1))
            return out
        finally:
            r.close()
    run("listen_only", listen_only)


def busy_checks(c):
    # limits.requests_per_second 1, burst 1: the first request is served,
    # the next ones (within well under a second) get 06
    def burst():
        seen = []
        for _ in range(5):
            r = c.read_holding_registers(0, 1, slave=UNIT)
            seen.append(r.exception_code if isinstance(r, ExceptionResponse) else 0)
        return dict(seen=seen)
    run("busy_burst", burst)

    def recovered():
        time.sleep(1.2)
        r = c.read_holding_registers(0, 1, slave=UNIT)
        return dict(outcome(r), values=getattr(r, "registers", None))
    run("busy_recovered", recovered)


def main():
    c = ModbusTcpClient(HOST, port=PORT, timeout=2, retries=0)
    if not c.connect():
        emit("connect", error="cannot connect")
        return 1
    emit("connect", ok=True)
    if MODE == "busy":
        busy_checks(c)
    else:
        main_checks(c)
    c.close()
    emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
