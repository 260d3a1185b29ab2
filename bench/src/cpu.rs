//! CPU time over a measured window, from `/proc`: the servers' (summed over every process of a
//! row), the balancer's and the store's apart, the load client's own, and what the rest of the
//! machine took meanwhile (other builds on a shared machine), so that a disturbed row shows.
//!
//! Times are user + system, in µs, from clock ticks of USER_HZ (100 per second on Linux): a
//! process's figure in `/proc/<pid>/stat` covers all its threads.

use std::ops::Sub;

/// Clock ticks of `/proc` in µs.
const TICK_US: u64 = 10_000;

/// The processes a run measures, in the groups it reports apart. Each process counts with its
/// children (nginx's workers are its master's).
#[derive(Clone, Debug, Default)]
pub(crate) struct Processes {
    pub(crate) servers: Vec<u32>,
    pub(crate) nginx: Vec<u32>,
    pub(crate) redis: Vec<u32>,
}

impl Processes {
    /// One server process, nothing else.
    pub(crate) fn server(pid: u32) -> Self {
        Self {
            servers: vec![pid],
            ..Self::default()
        }
    }

    /// Every process of each group, children included: taken once at the window's start, so
    /// that both readings cover the same processes.
    fn with_children(&self) -> Self {
        let expand = |pids: &[u32]| {
            pids.iter()
                .flat_map(|&pid| std::iter::once(pid).chain(children(pid)))
                .collect()
        };
        Self {
            servers: expand(&self.servers),
            nginx: expand(&self.nginx),
            redis: expand(&self.redis),
        }
    }
}

/// CPU time used, in µs: by each group, by this process (the load client), and by everything
/// else on the machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CpuUse {
    pub(crate) servers: u64,
    pub(crate) nginx: u64,
    pub(crate) redis: u64,
    pub(crate) client: u64,
    /// Every CPU's busy time (user, nice, system, irq, softirq, and steal: time the hypervisor
    /// gave to someone else), of which `others` is what the processes above did not use.
    machine: u64,
}

impl CpuUse {
    /// What the machine spent outside the processes measured: other work sharing the cores.
    pub(crate) fn others(&self) -> u64 {
        self.machine
            .saturating_sub(self.servers + self.nginx + self.redis + self.client)
    }
}

impl Sub for CpuUse {
    type Output = CpuUse;
    fn sub(self, before: CpuUse) -> CpuUse {
        CpuUse {
            servers: self.servers.saturating_sub(before.servers),
            nginx: self.nginx.saturating_sub(before.nginx),
            redis: self.redis.saturating_sub(before.redis),
            client: self.client.saturating_sub(before.client),
            machine: self.machine.saturating_sub(before.machine),
        }
    }
}

/// Measures one window: [`Meter::start`] at its beginning, [`Meter::stop`] at its end.
pub(crate) struct Meter {
    processes: Processes,
    before: CpuUse,
}

impl Meter {
    pub(crate) fn start(processes: &Processes) -> Self {
        let processes = processes.with_children();
        let before = reading(&processes);
        Self { processes, before }
    }

    /// The CPU used since [`start`](Self::start).
    pub(crate) fn stop(self) -> CpuUse {
        reading(&self.processes) - self.before
    }
}

/// The CPU used so far by each group, this process and the machine.
fn reading(processes: &Processes) -> CpuUse {
    let sum = |pids: &[u32]| pids.iter().map(|&pid| process_us(pid)).sum();
    CpuUse {
        servers: sum(&processes.servers),
        nginx: sum(&processes.nginx),
        redis: sum(&processes.redis),
        client: process_us(std::process::id()),
        machine: machine_us(),
    }
}

/// The CPU time (user + system) process `pid` has used, in µs, from `/proc/<pid>/stat`; 0 when
/// unreadable.
pub(crate) fn process_us(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The fields after the command (which may hold spaces, inside parentheses): utime and stime
    // are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) * TICK_US
}

/// Busy time of every CPU together, in µs, from the first line of `/proc/stat` (`cpu  user nice
/// system idle iowait irq softirq steal ...`); 0 when unreadable.
fn machine_us() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0;
    };
    let Some(line) = stat.lines().next() else {
        return 0;
    };
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum::<u64>();
    busy * TICK_US
}

/// The children of process `pid` (of each of its threads), from `/proc/<pid>/task/*/children`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let found = children(std::process::id()).contains(&child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(found, "the child is listed");
    }

    /// This thread's time on a CPU so far, in µs, from the scheduler's own count (not ticks).
    fn thread_on_cpu_us() -> u64 {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
        let ns: u64 = stat.split_whitespace().next().unwrap().parse().unwrap();
        ns / 1000
    }

    #[test]
    fn counts_this_process_and_the_machine() {
        let meter = Meter::start(&Processes::server(std::process::id()));
        // 80 ms on a CPU by the scheduler's count, in user space but for a look at the clock
        // now and then.
        let start = thread_on_cpu_us();
        let mut spins = 0u64;
        while thread_on_cpu_us() < start + 80_000 {
            for _ in 0..1_000_000 {
                spins = std::hint::black_box(spins.wrapping_add(1));
            }
        }
        let used = meter.stop();
        assert!(used.servers >= 5 * TICK_US, "{used:?}");
        // The same process read twice, a moment apart; the machine's count is kept apart from
        // the processes' and may lag by a tick.
        assert!(used.servers.abs_diff(used.client) <= TICK_US, "{used:?}");
        assert!(used.machine + 2 * TICK_US >= used.client, "{used:?}");
    }
}
