"""IPFIX (RFC 7011) messages as Open vSwitch exports them: templates, then data records.

Hand-written because the libraries at hand refuse OVS's templates: scapy's NetFlow layer
builds one class per template and fails on OVS's repeated interfaceName element, and the
``netflow`` package cannot read variable-length fields, which OVS uses for interface names.
Only what flow logs read is named (``FIELDS``); other elements are skipped by their length.
OVS sends its templates under the observation domain of whichever record came first and uses
them for every domain (RFC 7011 scopes a template to its domain), so templates are kept per
exporter, by id.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address

VERSION = 10
HEADER = struct.Struct("!HHIII")  # version, length, export time, sequence, observation domain
SET_HEADER = struct.Struct("!HH")  # set id, length
TEMPLATE_SET, OPTIONS_TEMPLATE_SET, FIRST_DATA_SET = 2, 3, 256
VARIABLE = 0xFFFF
ENTERPRISE_BIT = 0x8000

# information element id -> the name flow logs use (IANA's IPFIX registry)
FIELDS = {
    1: "bytes",  # octetDeltaCount: the IP packets' bytes
    2: "packets",  # packetDeltaCount
    4: "protocol",  # protocolIdentifier
    7: "source_port",  # sourceTransportPort
    8: "source",  # sourceIPv4Address
    11: "destination_port",  # destinationTransportPort
    12: "destination",  # destinationIPv4Address
    27: "source",  # sourceIPv6Address: an IPv6 flow's template has these instead
    28: "destination",  # destinationIPv6Address
    80: "destination_mac",  # destinationMacAddress
    82: "interface",  # interfaceName: of the input port (OVS sends it before the output's)
    138: "point",  # observationPointId
    158: "start_delta_us",  # flowStartDeltaMicroseconds: before the export time
    159: "end_delta_us",  # flowEndDeltaMicroseconds
}
ADDRESSES, MACS, TEXTS = {"source", "destination"}, {"destination_mac"}, {"interface"}


@dataclass(frozen=True)
class Record:
    """One data record: its observation domain, the message's export time, the named fields."""

    domain: int
    export_time: int
    fields: dict


@dataclass
class Decoder:
    """Decodes the messages of one exporter (templates are per exporter and domain)."""

    templates: dict = field(default_factory=dict)  # template id -> [(element, length)]

    def decode(self, message: bytes) -> list[Record]:
        version, length, export_time, _, domain = HEADER.unpack_from(message)
        if version != VERSION or length > len(message):
            raise ValueError(f"not an IPFIX message (version {version}, length {length})")
        records, at = [], HEADER.size
        while at + SET_HEADER.size <= length:
            set_id, set_length = SET_HEADER.unpack_from(message, at)
            if set_length < SET_HEADER.size or at + set_length > length:
                raise ValueError(f"a set of {set_length} bytes at {at} overruns the message")
            body, end = at + SET_HEADER.size, at + set_length
            if set_id in (TEMPLATE_SET, OPTIONS_TEMPLATE_SET):
                self._templates(message, body, end, set_id == OPTIONS_TEMPLATE_SET)
            elif set_id >= FIRST_DATA_SET and set_id in self.templates:
                template = self.templates[set_id]
                records += [Record(domain, export_time, f) for f in _data(message, body, end, template)]
            at = end
        return records

    def _templates(self, message: bytes, at: int, end: int, options: bool) -> None:
        while at + 4 <= end:
            template_id, count = struct.unpack_from("!HH", message, at)
            at += 6 if options else 4  # an options template also says how many are scope fields
            elements = []
            for _ in range(count):
                element, length = struct.unpack_from("!HH", message, at)
                at += 4
                if element & ENTERPRISE_BIT:  # an enterprise element: never one flow logs read
                    at += 4
                    element = -1
                elements.append((element, length))
            self.templates[template_id] = elements


def _data(message: bytes, at: int, end: int, template: list) -> list[dict]:
    """The records of one data set (the rest of the set, shorter than a record, is padding)."""
    records: list[dict] = []
    while at < end:
        values = {}
        for element, length in template:
            if length == VARIABLE:
                if at >= end:
                    return records
                length, at = message[at], at + 1
                if length == 255:
                    length, at = struct.unpack_from("!H", message, at)[0], at + 2
            if at + length > end:
                return records
            name = FIELDS.get(element)
            if name is not None and name not in values:  # the first: the input port's name
                values[name] = _value(name, message[at : at + length])
            at += length
        records.append(values)
    return records


def _value(name: str, raw: bytes):
    if name in ADDRESSES:
        return str(IPv4Address(raw) if len(raw) == 4 else IPv6Address(raw))
    if name in MACS:
        return ":".join(f"{byte:02x}" for byte in raw)
    if name in TEXTS:
        return raw.rstrip(b"\0").decode("utf-8", "replace")
    return int.from_bytes(raw, "big")


def encode(domain: int, export_time: int, template_id: int, records: list[dict], sequence: int = 0) -> bytes:
    """A message with one template (the named fields of ``records[0]``, in ``FIELDS`` order;
    the interface name variable-length) and its data records: what the tests and the
    collector's benchmark send, shaped like OVS's."""
    ipv6 = ":" in str(records[0].get("source", ""))
    names = {
        name: element for element, name in FIELDS.items() if element not in ((8, 12) if ipv6 else (27, 28))
    }
    used = list(dict.fromkeys(name for name in FIELDS.values() if name in records[0]))
    lengths = {"bytes": 8, "packets": 8, "protocol": 1, "source_port": 2, "destination_port": 2}
    size = 16 if ipv6 else 4
    lengths.update({"source": size, "destination": size, "destination_mac": 6, "point": 4})
    lengths.update({"start_delta_us": 4, "end_delta_us": 4, "interface": VARIABLE})
    template = struct.pack("!HH", template_id, len(used)) + b"".join(
        struct.pack("!HH", names[name], lengths[name]) for name in used
    )
    data = b"".join(_encoded(record, used, lengths) for record in records)
    sets = _set(TEMPLATE_SET, template) + _set(template_id, data)
    return HEADER.pack(VERSION, HEADER.size + len(sets), export_time, sequence, domain) + sets


def _set(set_id: int, body: bytes) -> bytes:
    return SET_HEADER.pack(set_id, SET_HEADER.size + len(body)) + body


def _encoded(record: dict, used: list[str], lengths: dict) -> bytes:
    out = b""
    for name in used:
        value = record[name]
        if name in ADDRESSES:
            out += ip_address(value).packed
        elif name in MACS:
            out += bytes(int(part, 16) for part in value.split(":"))
        elif name in TEXTS:
            text = value.encode()
            size = bytes([len(text)]) if len(text) < 255 else b"\xff" + struct.pack("!H", len(text))
            out += size + text
        else:
            out += int(value).to_bytes(lengths[name], "big")
    return out
