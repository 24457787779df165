"""python -m payer_simulator --root <clearinghouse dir> [--poll 5] [--once] [--contracts file.json]"""

import argparse
import gc
import logging
import signal
import threading
from pathlib import Path

from payer_simulator.claim_status import ClaimStatusDesk, StatusBook
from payer_simulator.domain.contracts import DEFAULT_CONTRACTS, load_contracts
from payer_simulator.eligibility import EligibilityDesk
from payer_simulator.simulator import Simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="payer_simulator", description="Answer 837Ps, 270s and 276s.")
    parser.add_argument("--root", type=Path, required=True, help="clearinghouse directory")
    parser.add_argument(
        "--poll", type=float, default=5.0, help="seconds between looks at outbound/ when no file landing woke the desk"
    )
    parser.add_argument("--once", action="store_true", help="answer the files present, then exit")
    parser.add_argument("--contracts", type=Path, default=DEFAULT_CONTRACTS, help="payer contracts (JSON)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())  # finish the current file, then leave
    args.root.mkdir(parents=True, exist_ok=True)
    book = StatusBook(args.root / ".payer-claim-status.sqlite")  # what the payer adjudicated, for 276s
    simulator = Simulator(args.root, load_contracts(args.contracts), status_book=book)
    status_desk = ClaimStatusDesk(args.root, book)  # 276s in, 277s out
    status_thread = threading.Thread(
        target=status_desk.run, args=(stop, args.poll, args.once), name="claim-status", daemon=True
    )
    status_thread.start()
    desk = EligibilityDesk(args.root, load_contracts(args.contracts))  # 270s in, 271s out, beside the 837 loop
    desk_thread = threading.Thread(target=desk.run, args=(stop, args.poll, args.once), name="eligibility", daemon=True)
    desk_thread.start()
    logging.getLogger("payer_simulator").info("watching %s", args.root / "outbound")
    # As the services do (shared/settings.py gc_thresholds): a file of hundreds of claims makes tens of
    # thousands of short-lived objects; with CPython's 700 the collector scanned them while still alive.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    simulator.run(stop, poll=args.poll, once=args.once)
    desk_thread.join()
    status_thread.join()


if __name__ == "__main__":
    main()
