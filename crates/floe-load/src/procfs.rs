//! Reading CPU time, memory and descriptors of processes and of the machine from /proc.

use std::fs;

/// The parts of /proc/PID/stat (or /proc/PID/task/TID/stat) used here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    /// utime + stime, in clock ticks.
    pub ticks: u64,
    /// CPU it last ran on.
    pub processor: Option<u32>,
    /// A kernel thread (PF_KTHREAD), e.g. ksoftirqd or a kworker.
    pub kernel: bool,
}

/// Parses a stat line. The command name may hold spaces and parentheses, so the fields are
/// counted from the last `)`.
pub fn parse_stat(s: &str) -> Option<Stat> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = s.get(close + 1..)?.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime 15, processor 39.
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    let processor = rest.get(36).and_then(|p| p.parse().ok());
    let flags: u64 = rest.get(6)?.parse().ok()?;
    const PF_KTHREAD: u64 = 0x0020_0000;
    Some(Stat {
        comm,
        ticks: utime + stime,
        processor,
        kernel: flags & PF_KTHREAD != 0,
    })
}

/// `VmRSS` from /proc/PID/status, in KiB.
pub fn parse_vmrss_kib(status: &str) -> Option<u64> {
    status_kib(status, "VmRSS:")
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Busy and total jiffies of one `cpu` line of /proc/stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    pub busy: u64,
    /// Interrupt and softirq time (on loopback, much of the network stack runs here, charged
    /// to no process).
    pub irq: u64,
    pub total: u64,
}

impl CpuTimes {
    /// Busy share between two samples, in percent (0..=100).
    pub fn busy_pct_since(self, before: CpuTimes) -> f64 {
        let total = self.total.saturating_sub(before.total);
        if total == 0 {
            return 0.0;
        }
        100.0 * self.busy.saturating_sub(before.busy) as f64 / total as f64
    }

    /// Interrupt + softirq share between two samples, in percent (0..=100).
    pub fn irq_pct_since(self, before: CpuTimes) -> f64 {
        let total = self.total.saturating_sub(before.total);
        if total == 0 {
            return 0.0;
        }
        100.0 * self.irq.saturating_sub(before.irq) as f64 / total as f64
    }
}

/// The machine (`cpu`) line and the per-core (`cpuN`) lines of /proc/stat.
/// Busy is everything but idle and iowait; guest time is already inside user time.
pub fn parse_proc_stat(s: &str) -> Option<(CpuTimes, Vec<CpuTimes>)> {
    let mut all = None;
    let mut cores = Vec::new();
    for line in s.lines() {
        let mut f = line.split_whitespace();
        let Some(name) = f.next() else { continue };
        if !name.starts_with("cpu") {
            continue;
        }
        let v: Vec<u64> = f.take(8).filter_map(|x| x.parse().ok()).collect();
        if v.len() < 4 {
            continue;
        }
        let total: u64 = v.iter().sum();
        let idle = v[3] + v.get(4).copied().unwrap_or(0);
        let t = CpuTimes {
            busy: total - idle,
            irq: v.get(5).copied().unwrap_or(0) + v.get(6).copied().unwrap_or(0),
            total,
        };
        if name == "cpu" {
            all = Some(t);
        } else {
            cores.push(t);
        }
    }
    Some((all?, cores))
}

/// Soft and hard "Max open files" of /proc/PID/limits (`None` for unlimited).
pub fn parse_max_open_files(limits: &str) -> Option<(Option<u64>, Option<u64>)> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut f = line["Max open files".len()..].split_whitespace();
    let soft = f.next()?;
    let hard = f.next()?;
    Some((soft.parse().ok(), hard.parse().ok()))
}

/// `lo hi` of /proc/sys/net/ipv4/ip_local_port_range.
pub fn parse_port_range(s: &str) -> Option<(u32, u32)> {
    let mut f = s.split_whitespace();
    Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

// ---- readers ----

pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

pub fn self_stat() -> Option<Stat> {
    parse_stat(&fs::read_to_string("/proc/self/stat").ok()?)
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    parse_vmrss_kib(&fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

pub fn self_rss_kib() -> Option<u64> {
    parse_vmrss_kib(&fs::read_to_string("/proc/self/status").ok()?)
}

pub fn machine() -> Option<(CpuTimes, Vec<CpuTimes>)> {
    parse_proc_stat(&fs::read_to_string("/proc/stat").ok()?)
}

/// (tid, stat) of every thread of `pid`.
pub fn threads(pid: u32) -> Vec<(u32, Stat)> {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(st) = fs::read_to_string(e.path().join("stat"))
            .ok()
            .and_then(|s| parse_stat(&s))
        {
            out.push((tid, st));
        }
    }
    out
}

/// (pid, stat) of every process on the machine.
pub fn all_processes() -> Vec<(u32, Stat)> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(st) = stat(pid) {
            out.push((pid, st));
        }
    }
    out
}

/// Descriptors open in `pid`.
pub fn fd_count(pid: u32) -> Option<usize> {
    Some(fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

pub fn max_open_files(pid: u32) -> Option<(Option<u64>, Option<u64>)> {
    parse_max_open_files(&fs::read_to_string(format!("/proc/{pid}/limits")).ok()?)
}

pub fn port_range() -> Option<(u32, u32)> {
    parse_port_range(&fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_name() {
        let line = "4242 (my (odd) srv) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    350 120 0 0 20 0 3 0 987654 123456789 2048 18446744073709551615 \
                    1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(line).expect("parses");
        assert_eq!(s.comm, "my (odd) srv");
        assert_eq!(s.ticks, 470);
        assert_eq!(s.processor, Some(1));
        assert!(!s.kernel);
        let kthread = "15 (ksoftirqd/1) S 2 0 0 0 -1 69238848 0 0 0 0 7 90 0 0 20 0 1 0 5 0 0 \
                       18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0";
        let k = parse_stat(kthread).expect("parses");
        assert!(k.kernel);
        assert_eq!((k.comm.as_str(), k.ticks), ("ksoftirqd/1", 97));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn real_self_stat_parses() {
        let s = self_stat().expect("own stat");
        assert!(!s.comm.is_empty());
        assert!(self_rss_kib().expect("own rss") > 0);
    }

    #[test]
    fn vmrss_and_limits() {
        let status = "Name:\ticecast2\nVmPeak:\t  200000 kB\nVmRSS:\t   21504 kB\nThreads:\t5\n";
        assert_eq!(parse_vmrss_kib(status), Some(21504));
        assert_eq!(parse_vmrss_kib("Name: x\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             95000                95000                processes \n\
                      Max open files            1024                 20000                files     \n";
        assert_eq!(
            parse_max_open_files(limits),
            Some((Some(1024), Some(20000)))
        );
        let unl = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_max_open_files(unl), Some((None, None)));
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
    }

    #[test]
    fn proc_stat_busy_share() {
        let a = "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\n\
                 cpu1 50 0 50 400 0 0 0 0 0 0\nintr 1 2 3\n";
        let b = "cpu  250 0 150 900 100 0 0 0 0 0\ncpu0 150 0 75 425 50 0 0 0 0 0\n\
                 cpu1 100 0 75 475 50 0 0 0 0 0\n";
        let (ma, ca) = parse_proc_stat(a).expect("a");
        let (mb, cb) = parse_proc_stat(b).expect("b");
        assert_eq!(
            ma,
            CpuTimes {
                busy: 200,
                irq: 0,
                total: 1000
            }
        );
        assert_eq!(ca.len(), 2);
        // 200 busy of 400 elapsed (iowait counts as idle).
        assert!((mb.busy_pct_since(ma) - 50.0).abs() < 1e-9);
        assert!((cb[0].busy_pct_since(ca[0]) - 62.5).abs() < 1e-9);
        assert!((cb[1].busy_pct_since(ca[1]) - 37.5).abs() < 1e-9);
        assert_eq!(ma.busy_pct_since(ma), 0.0);
        let c = "cpu  100 0 100 800 0 20 30 0 0 0\n";
        let (mc, _) = parse_proc_stat(c).expect("c");
        assert_eq!((mc.busy, mc.irq, mc.total), (250, 50, 1050));
        assert!((mc.irq_pct_since(ma) - 100.0).abs() < 1e-9);
    }
}
