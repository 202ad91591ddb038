"""M/M/c queue in SimPy: the peer that `cargo xtask bench` measures tailsim against.

An idiomatic SimPy model: one process per customer, a Resource with
capacity c for the servers, exponential interarrival and service times.
An event is one arrival or one departure, as in tailsim's benchmark.
Prints one JSON line on stdout.

    python mmc_simpy.py --customers 1000000 --servers 10 --rate 9 --service-mean 1
"""

import argparse
import json
import math
import random
import time

import simpy


def customer(env, servers, service_mean, rng, waits, done):
    arrived = env.now
    with servers.request() as req:
        yield req
        waits.append(env.now - arrived)
        yield env.timeout(rng.expovariate(1.0 / service_mean))
    done[0] += 1


def source(env, customers, rate, servers, service_mean, rng, waits, done):
    for _ in range(customers):
        env.process(customer(env, servers, service_mean, rng, waits, done))
        yield env.timeout(rng.expovariate(rate))


def erlang_c_wait(c, lam, mean_service):
    """Mean time in queue of M/M/c (Erlang C), for a sanity check."""
    a = lam * mean_service
    rho = a / c
    if rho >= 1:
        return math.inf
    term, total = 1.0, 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    last = term * a / c / (1 - rho)
    p_wait = last / (total + last)
    return p_wait * mean_service / (c - a)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--servers", type=int, default=10)
    p.add_argument("--rate", type=float, default=9.0)
    p.add_argument("--service-mean", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    rng = random.Random(args.seed)
    waits = []
    done = [0]
    started = time.perf_counter()
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=args.servers)
    env.process(
        source(env, args.customers, args.rate, servers, args.service_mean, rng, waits, done)
    )
    env.run()
    wall = time.perf_counter() - started

    events = args.customers + done[0]
    print(
        json.dumps(
            {
                "peer": "simpy",
                "simpy_version": simpy.__version__,
                "customers": args.customers,
                "events": events,
                "wall_s": wall,
                "events_per_s": events / wall,
                "mean_wait_s": sum(waits) / len(waits),
                "erlang_c_wait_s": erlang_c_wait(args.servers, args.rate, args.service_mean),
                "sim_time_s": env.now,
            }
        )
    )


if __name__ == "__main__":
    main()
