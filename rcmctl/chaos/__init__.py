"""`rcm chaos`: the fault-injection suite. The whole cycle runs (five services and the payer
simulator as processes, on a Kafka and a PostgreSQL of the suite's own) while it:

- kills each service with SIGKILL in turn, and brings it back;
- kills a broker (one of three, replication 3 and min.insync.replicas 2; or the only one);
- stops PostgreSQL for 20 s, then for 60 s;
- drops a re-sent 835 (new check and interchange numbers), a byte-identical copy under a
  224-character name, a truncated 835, one paying $12,000,000,000.00 and one of random bytes;
- publishes poison records onto every consumed topic;

then reconciles: every encounter accounted for, claims submitted = adjudicated, ledger = payments
posted to the cent, no payment posted twice, no patient billed twice, nothing dead-lettered that a
healthy system would process, nothing left waiting, no patient data in any log. No replay by hand.
"""
