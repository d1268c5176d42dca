"""The Python client's negative cases: what the corridor refuses, as the written contract says.

Every case sends one request that the contract says must be refused (or, for a repeat,
answered with its first receipt) and checks the answer against proto/ERRORS.md (the meaning
of each status code and the messages it comes with), proto/SIGNING.md section 3
(UNAUTHENTICATED against PERMISSION_DENIED), proto/LIMITS.md (the message limit) and the
comments of proto/corridor/v1/*.proto: the exact gRPC status code, and the part of the
message those documents state. Where they state no message for a case, only the code is
checked. Every refused request must also have recorded nothing: the ledger of the service
called (``LedgerReader.GetCheckpoint``) has the same size after it as before. Nothing here
comes from the Rust sources.

``client.py`` runs them at two points of its flow:

* ``before_declaration``, once its operators are registered and its documents signed, at the
  first node: a declaration whose signature has one bit flipped (UNAUTHENTICATED), a
  declaration signed and sent under the bill's payload type (INVALID_ARGUMENT naming
  ``declaration.payload_type``), and a declaration over the node's 1 MiB message limit
  (RESOURCE_EXHAUSTED, after which the node still answers);
* ``after_declaration``, once the first node has accepted the declaration and before its
  arrival: the same submission again (the first receipt, ``new: false``, nothing written), the
  same declaration in an envelope with one more signature (ALREADY_EXISTS), a second
  declaration on the same bill (ALREADY_EXISTS), border events at the first node sent under
  the decision's payload type (INVALID_ARGUMENT naming ``envelope.payload_type``), signed by
  an officer of the next country (PERMISSION_DENIED) and signed by a key nobody registered
  (UNAUTHENTICATED); then, at the declarant, a bill it issued for two of the topology's
  operators (with their development keys, as ``corridor bill`` signs with them) moved twice
  from the same holder state (``Declarant.TransferBill``: FAILED_PRECONDITION, a double spend).

Each case prints one line, ``negative <name>: <CODE>: <message>``, and the last line is
``negative cases: N passed (<names>)``.
"""

from __future__ import annotations

import importlib
import secrets
import time
import tomllib
from pathlib import Path

import grpc
from cryptography.hazmat.primitives import serialization

# client.py runs as the module `client` (see its last lines), so this is the one copy of it:
# its ClientError is the one its main() catches.
import client

PT_BORDER_EVENT = "application/vnd.corridor.customs-border-event.v1+protobuf"
PT_DECISION = "application/vnd.corridor.customs-decision.v1+protobuf"

# proto/LIMITS.md: a customs node takes requests up to 1,048,576 bytes by default, and answers
# a larger one with this message. (The README gives `corridor up` no limit of its own, so its
# nodes are taken to run with the default.)
NODE_MESSAGE_LIMIT = 1_048_576
TOO_LARGE = "Error, decoded message length too large: found {n} bytes, the limit is: {m} bytes"


def now_micros() -> int:
    return time.time_ns() // 1000


def load_signer(path: Path) -> client.Signer:
    """A development key file as `corridor up` writes it (PKCS#8 PEM, SIGNING.md section 1)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as e:
        raise client.ClientError(f"cannot load the key {path}: {e}") from e
    return client.Signer(key)


def flip_bit(sig: bytes, bit: int = 0) -> bytes:
    """The signature with one bit flipped (bit 0 = the lowest bit of the first byte)."""
    b = bytearray(sig)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


class Cases:
    """The negative cases, with what they need of the client's flow."""

    def __init__(
        self,
        pb,
        c: client.Corridor,
        node_channel,
        *,
        shipper_id: str,
        shipper: client.Signer,
        carrier: client.Signer,
        bill_env,
        issue_env,
        declaration,
        decl_env,
        goods: list[dict],
        suffix: str,
    ):
        self.pb = pb
        self.c = c
        self.first = client.ROUTE[0]
        self.node_channel = node_channel
        self.node = pb.customs_grpc.CustomsNodeStub(node_channel)
        self.shipper_id, self.shipper = shipper_id, shipper
        self.carrier = carrier
        self.bill_env, self.issue_env = bill_env, issue_env
        self.declaration, self.decl_env = declaration, decl_env
        self.goods, self.suffix = goods, suffix
        self.passed: list[str] = []

    # ---- helpers ---------------------------------------------------------------------------

    def ledger_size(self, channel) -> int:
        """The size of the ledger of the service behind `channel` (LedgerReader)."""
        reader = self.pb.ledger_service_grpc.LedgerReaderStub(channel)
        return reader.GetCheckpoint(
            self.pb.ledger_service.GetCheckpointRequest(), timeout=client.WAIT_S
        ).size

    def refused(
        self,
        name: str,
        call,
        code: grpc.StatusCode,
        *,
        channel=None,
        starts: str | None = None,
        contains: tuple[str, ...] = (),
        exact: str | None = None,
    ) -> str:
        """Runs `call`, which must fail with `code` and a message as stated, recording nothing."""
        channel = channel or self.node_channel
        before = self.ledger_size(channel)
        try:
            answer = call()
        except grpc.RpcError as e:
            got, message = e.code(), e.details() or ""
        else:
            raise client.ClientError(
                f"negative {name}: accepted ({str(answer).strip()[:200]}), "
                f"the contract says {code.name}"
            )
        if got != code:
            raise client.ClientError(
                f"negative {name}: {got.name} ({message}), the contract says {code.name}"
            )
        if exact is not None and message != exact:
            raise client.ClientError(
                f"negative {name}: {code.name} with the message {message!r}, "
                f"the contract says {exact!r}"
            )
        if starts is not None and not message.startswith(starts):
            raise client.ClientError(
                f"negative {name}: the message {message!r} does not start with {starts!r}"
            )
        for part in contains:
            if part not in message:
                raise client.ClientError(
                    f"negative {name}: the message {message!r} does not say {part!r}"
                )
        after = self.ledger_size(channel)
        if after != before:
            raise client.ClientError(
                f"negative {name}: refused with {code.name}, but the ledger grew from "
                f"{before} to {after} entries"
            )
        self.passed.append(name)
        print(f"negative {name}: {code.name}: {message}")
        return message

    def submit(self, declaration_env, *, bill_env=None, chain=None):
        """A SubmitDeclaration call at the first node, to run later."""
        request = self.pb.customs.SubmitDeclarationRequest(
            declaration=declaration_env,
            bill_of_lading=bill_env or self.bill_env,
            transfer_chain=chain if chain is not None else [self.issue_env],
        )
        return request, lambda: self.node.SubmitDeclaration(request, timeout=client.WAIT_S)

    def border_event(self, cid: str, payload_type: str, signer: client.Signer):
        """An arrival of the consignment at the first node, signed by `signer`."""
        event = self.pb.customs.BorderEvent(
            consignment_id=bytes.fromhex(cid),
            country=self.first,
            kind=self.pb.customs.BORDER_EVENT_KIND_ARRIVAL,
            at_unix_micros=now_micros(),
        )
        env = client.envelope(self.pb, payload_type, event, signer)
        request = self.pb.customs.SignedRequest(envelope=env)
        return lambda: self.node.RecordBorderEvent(request, timeout=client.WAIT_S)

    # ---- before the declaration: refused by the envelope, its signature or its size --------

    def before_declaration(self) -> None:
        pb = self.pb

        # 1. One bit of the declarant's signature flipped: the signature does not verify, so
        # the declarant cannot be established as the signer (SIGNING.md section 3). The
        # contract states no message for a signature that does not verify (ERRORS.md's
        # example is for a key not valid at the document's time): the code only.
        flipped = pb.envelope.Envelope()
        flipped.CopyFrom(self.decl_env)
        flipped.signatures[0].sig = flip_bit(flipped.signatures[0].sig)
        _, call = self.submit(flipped)
        self.refused("flipped-signature-bit", call, grpc.StatusCode.UNAUTHENTICATED)

        # 2. The declaration signed and sent as a bill of lading: the payload type is not the
        # one the field takes (SIGNING.md section 2, step 1); INVALID_ARGUMENT, the message
        # starting with the field's path (ERRORS.md).
        as_bill = client.envelope(pb, client.PT_BILL_OF_LADING, self.declaration, self.shipper)
        _, call = self.submit(as_bill)
        self.refused(
            "declaration-with-the-bill-payload-type",
            call,
            grpc.StatusCode.INVALID_ARGUMENT,
            starts="declaration.payload_type",
        )

        # 5. Over the node's message limit: a declaration whose description of goods alone is
        # 1 MiB (LIMITS.md). RESOURCE_EXHAUSTED with the size found and the limit.
        big = pb.declaration.Declaration()
        big.CopyFrom(self.declaration)
        big.items[0].description_of_goods = "x" * NODE_MESSAGE_LIMIT
        request, call = self.submit(client.envelope(pb, client.PT_DECLARATION, big, self.shipper))
        self.refused(
            "oversize-message",
            call,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            exact=TOO_LARGE.format(n=request.ByteSize(), m=NODE_MESSAGE_LIMIT),
        )
        status = self.node.GetNodeStatus(pb.customs.NodeStatusRequest(), timeout=client.WAIT_S)
        print(f"negative oversize-message: the {status.country} node still answers afterwards")

    # ---- after the declaration: repeats, conflicts, roles and a double spend --------------

    def after_declaration(self, receipt) -> None:
        pb = self.pb
        cid = receipt.consignment_id
        if not receipt.new:
            raise client.ClientError(f"the first submission of {cid} was answered new: false")

        # 3. The same envelope again: the same step, answered with its first receipt and
        # nothing written (ERRORS.md, last paragraphs; StepReceipt.new).
        before = self.ledger_size(self.node_channel)
        _, call = self.submit(self.decl_env)
        again = call()
        after = self.ledger_size(self.node_channel)
        if (again.consignment_id, again.seq, again.entry_hash, again.new) != (
            cid,
            receipt.seq,
            receipt.entry_hash,
            False,
        ):
            raise client.ClientError(
                f"negative same-envelope-twice: answered {again.consignment_id} seq {again.seq} "
                f"{again.entry_hash.hex()} new={again.new}, the first receipt was seq "
                f"{receipt.seq} {receipt.entry_hash.hex()}"
            )
        if after != before:
            raise client.ClientError(
                f"negative same-envelope-twice: the ledger grew from {before} to {after}"
            )
        self.passed.append("same-envelope-twice")
        print(
            f"negative same-envelope-twice: OK: new: false, seq {again.seq} "
            f"{again.entry_hash.hex()[:16]}..., ledger still {after} entries"
        )

        # 4. The same declaration (same payload, so the same consignment id) in an envelope
        # with one more signature, the carrier's: another envelope of a document the node
        # holds. ALREADY_EXISTS (ERRORS.md).
        other = pb.envelope.Envelope()
        other.CopyFrom(self.decl_env)
        other.signatures.add(
            keyid=self.carrier.key_id, sig=self.carrier.sign(other.payload_type, other.payload)
        )
        _, call = self.submit(other)
        self.refused(
            "same-id-other-envelope",
            call,
            grpc.StatusCode.ALREADY_EXISTS,
            starts="consignment ",
            contains=("was declared with another envelope",),
        )

        # 8a. A second declaration (another reference, so another consignment) on the bill
        # the first one declared, still open: ALREADY_EXISTS (ERRORS.md).
        second = pb.declaration.Declaration()
        second.CopyFrom(self.declaration)
        second.declaration_reference = f"PYDEC2-{self.suffix}"
        _, call = self.submit(client.envelope(pb, client.PT_DECLARATION, second, self.shipper))
        self.refused(
            "bill-already-declared",
            call,
            grpc.StatusCode.ALREADY_EXISTS,
            starts="bill ",
            contains=("is already declared in consignment",),
        )

        # 2b. A border event sent under the decision's payload type, by an officer of the
        # node's country: INVALID_ARGUMENT, `envelope.payload_type: expected ..., got ...`.
        own_officer = load_signer(self.c.officer_key[self.first])
        self.refused(
            "border-event-with-the-decision-payload-type",
            self.border_event(cid, PT_DECISION, own_officer),
            grpc.StatusCode.INVALID_ARGUMENT,
            starts="envelope.payload_type: expected ",
            contains=(", got ",),
        )

        # 6. An arrival at the first node signed by an officer of the next country: the
        # signer is established, its role does not allow the act (SIGNING.md section 3).
        next_country = client.ROUTE[1]
        self.refused(
            "officer-of-another-country",
            self.border_event(cid, PT_BORDER_EVENT, load_signer(self.c.officer_key[next_country])),
            grpc.StatusCode.PERMISSION_DENIED,
        )

        # 7. An arrival signed by a key nobody registered: no officer key of the corridor.
        self.refused(
            "unknown-signer",
            self.border_event(cid, PT_BORDER_EVENT, client.Signer()),
            grpc.StatusCode.UNAUTHENTICATED,
            contains=("not signed by an officer key of any corridor country",),
        )

        # 8b. At the declarant: a double spend of a bill on its platform.
        self.double_spend_at_the_declarant()

        print(f"negative cases: {len(self.passed)} passed ({', '.join(self.passed)})")

    def double_spend_at_the_declarant(self) -> None:
        """Two transfers of one bill from the same holder state (ebl.proto, TransferEntry).

        The declarant's platform holds the bills it issued itself, for the operators whose
        keys it holds (declarant.proto; the topology's operators under `corridor up`). So it
        issues one here, for the topology's first shipper and carrier; the shipper, holding
        it, moves it to one operator and then, from the same holder state, to another, each
        entry signed with the shipper's development key (the key file the topology names, as
        `corridor bill transfer --key` takes it).
        """
        pb = self.pb
        declarant_pb = importlib.import_module("corridor.v1.declarant_pb2")
        declarant_grpc = importlib.import_module("corridor.v1.declarant_pb2_grpc")
        topology = tomllib.loads(self.c.topology.read_text())
        base = self.c.topology.parent
        try:
            address = topology["declarant"]["listen"]
            operators = topology["operators"]
            shipper = next(o for o in operators if o["role"] == "shipper")
            carrier = next(o for o in operators if o["role"] == "carrier")
            others = [o["id"] for o in operators if o["id"] not in (shipper["id"], carrier["id"])]
            shipper_key = load_signer(base / shipper["key"]["private"])
        except (KeyError, StopIteration) as e:
            raise client.ClientError(
                f"the topology {self.c.topology} lacks the declarant or its operators: {e!r}"
            ) from e
        if len(others) < 2:
            raise client.ClientError(f"the topology {self.c.topology} has too few operators")

        serial = secrets.randbelow(10**6 - 1)
        goods = [
            dict(
                g,
                container=client.container_number("PYD", serial + i),
                seal=f"PD{secrets.randbelow(10**8):08d}",
            )
            for i, g in enumerate(self.goods)
        ]
        now = now_micros()
        bill = client.build_bill(
            pb, f"PYDS-{self.suffix}", shipper["id"], carrier["id"], now, goods
        )
        declaration = client.build_declaration(
            pb, f"PYDS-{self.suffix}", b"", shipper["id"], now, goods, self.c.guarantee_share
        )
        with self.c.channel(address) as channel:
            declarant = declarant_grpc.DeclarantStub(channel)
            submitted = declarant.SubmitConsignment(
                declarant_pb.SubmitConsignmentRequest(bill_of_lading=bill, declaration=declaration),
                timeout=client.WAIT_S,
            )
            bill_id, declared = submitted.bill_of_lading_id, submitted.consignment_id
            # The declarant records the first node's answer (SubmissionOutcome): wait until
            # its status says accepted, so that its ledger holds still for the count below.
            deadline = time.monotonic() + client.WAIT_S
            states = declarant_pb.SubmissionState
            while True:
                status = declarant.GetStatus(
                    declarant_pb.GetStatusRequest(consignment_id=declared), timeout=client.WAIT_S
                )
                if status.submission == states.SUBMISSION_STATE_ACCEPTED:
                    break
                if status.submission != states.SUBMISSION_STATE_PENDING:
                    raise client.ClientError(
                        f"the declarant's submission {declared} is "
                        f"{states.Name(status.submission)}: {status.detail}"
                    )
                if time.monotonic() > deadline:
                    raise client.ClientError(f"the first node did not answer {declared}")
                time.sleep(0.1)
            record = declarant.GetBill(
                declarant_pb.GetBillRequest(bill_of_lading_id=bill_id), timeout=client.WAIT_S
            )
            if record.holder != shipper["id"] or len(record.chain) != 1:
                raise client.ClientError(
                    f"the declarant's bill {bill_id} is held by {record.holder} with "
                    f"{len(record.chain)} entries; expected {shipper['id']} after its ISSUE"
                )
            issue = record.chain[0]

            def transfer(to_holder: str):
                entry = pb.ebl.TransferEntry(
                    document_id=bytes.fromhex(bill_id),
                    seq=1,
                    prev_entry_hash=client.document_id(issue),
                    action=pb.ebl.TRANSFER_ACTION_TRANSFER,
                    actor=shipper["id"],
                    from_holder=shipper["id"],
                    to_holder=to_holder,
                    time_unix_micros=now_micros(),
                )
                env = client.envelope(pb, client.PT_TRANSFER_ENTRY, entry, shipper_key)
                request = declarant_pb.TransferBillRequest(entry=env)
                return lambda: declarant.TransferBill(request, timeout=client.WAIT_S)

            moved = transfer(others[0])()
            if moved.holder != others[0]:
                raise client.ClientError(
                    f"the transfer of {bill_id} to {others[0]} left it with {moved.holder}"
                )
            print(
                f"negative double-spend: bill {bill_id[:16]}... issued at the declarant to "
                f"{shipper['id']} and transferred to {others[0]} (entry 1)"
            )
            self.refused(
                "double-spend-of-a-bill",
                transfer(others[1]),
                grpc.StatusCode.FAILED_PRECONDITION,
                channel=channel,
                starts="double spend: entry 1 of bill ",
                contains=("was already recorded from this holder state",),
            )
            # The consignment was only the way onto the platform: withdraw it.
            declarant.CancelConsignment(
                declarant_pb.CancelConsignmentRequest(
                    consignment_id=declared, reason="negative cases of the Python client"
                ),
                timeout=client.WAIT_S,
            )
            print(f"negative double-spend: consignment {declared[:16]}... cancelled")
