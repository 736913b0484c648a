package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"coldtrace/cmd/coldtrace/memory"
)

// benchCgroupEnv, set to a size (1GiB), runs the query benchmark's server
// subprocess in a fresh memory cgroup with that hard limit, made under the
// benchmark's own cgroup (cgroup v1 at /sys/fs/cgroup/memory, or v2 at
// /sys/fs/cgroup). The benchmark fails when it cannot make one.
const benchCgroupEnv = "COLDTRACE_BENCH_CGROUP"

// A benchCgroup is a memory cgroup the server runs in.
type benchCgroup struct {
	dir   string
	v2    bool
	limit string
}

// newBenchCgroup makes the cgroup benchCgroupEnv asks for (nil when unset).
func newBenchCgroup(b *testing.B) *benchCgroup {
	b.Helper()
	v := os.Getenv(benchCgroupEnv)
	if v == "" {
		return nil
	}
	size, err := memory.ParseSize(v)
	if err != nil {
		b.Fatalf("%s: %v", benchCgroupEnv, err)
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		b.Fatalf("%s=%s: no cgroups here: %v", benchCgroupEnv, v, err)
	}
	c := &benchCgroup{limit: size.String()}
	var parent string
	if ctl, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(ctl), "memory") {
		c.v2 = true
		parent = "/sys/fs/cgroup" + ownCgroup(string(own), "")
	} else {
		parent = "/sys/fs/cgroup/memory" + ownCgroup(string(own), "memory")
	}
	c.dir = filepath.Join(parent, fmt.Sprintf("coldtrace-bench-%d-%d", os.Getpid(), time.Now().UnixNano()))
	limitFile := "memory.limit_in_bytes"
	if c.v2 {
		limitFile = "memory.max"
	}
	if err := os.Mkdir(c.dir, 0o755); err != nil {
		b.Fatalf("%s=%s: cannot make a memory cgroup: %v", benchCgroupEnv, v, err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, limitFile), []byte(strconv.FormatInt(int64(size), 10)), 0o644); err != nil {
		c.remove()
		b.Fatalf("%s=%s: cannot set the cgroup's limit: %v", benchCgroupEnv, v, err)
	}
	return c
}

// ownCgroup returns this process's cgroup path in the hierarchy of the
// controller (cgroup v1), or the unified one ("" for cgroup v2).
func ownCgroup(procSelfCgroup, controller string) string {
	for _, line := range strings.Split(procSelfCgroup, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if controller == "" && f[0] == "0" && f[1] == "" || controller != "" && strings.Contains(","+f[1]+",", ","+controller+",") {
			return f[2]
		}
	}
	return "/"
}

// command runs bin in the cgroup from its start: a shell moves itself in
// and execs it (same process id).
func (c *benchCgroup) command(bin string, args ...string) *exec.Cmd {
	return exec.Command("sh", append([]string{"-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, c.dir, bin}, args...)...)
}

func (c *benchCgroup) read(name string) string {
	data, _ := os.ReadFile(filepath.Join(c.dir, name))
	return string(data)
}

// field returns the number after name in a "name value" file.
func field(text, name string) int64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return -1
}

// maxUsage is the cgroup's peak memory (page cache included), in bytes.
func (c *benchCgroup) maxUsage() int64 {
	name := "memory.max_usage_in_bytes"
	if c.v2 {
		name = "memory.peak"
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(c.read(name)), 10, 64)
	return n
}

// failures is how often the cgroup hit its limit (v1 failcnt, v2 "max"
// events); the kernel then reclaims, page cache first.
func (c *benchCgroup) failures() int64 {
	if c.v2 {
		return field(c.read("memory.events"), "max")
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(c.read("memory.failcnt")), 10, 64)
	return n
}

// oomKills is how many processes the cgroup's OOM killer killed.
func (c *benchCgroup) oomKills() int64 {
	if c.v2 {
		return field(c.read("memory.events"), "oom_kill")
	}
	return field(c.read("memory.oom_control"), "oom_kill")
}

// remove deletes the cgroup once its process is gone.
func (c *benchCgroup) remove() {
	for i := 0; i < 50; i++ {
		if err := os.Remove(c.dir); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
