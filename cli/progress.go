package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jedib0t/go-pretty/v6/progress"

	"github.com/modelkeep/modelkeep/client"
)

// progressUI shows a transfer's events: bars on a terminal, plain lines in
// a log (CI), nothing with --quiet.
type progressUI interface {
	event(client.Event)
	close()
}

// newProgress picks the display. verb is "upload" or "download".
func newProgress(e *env, verb string, quiet bool) progressUI {
	switch {
	case quiet || e.output == "json" && !e.terminal:
		return nopProgress{}
	case e.terminal:
		return newBars(e.Stderr, verb)
	default:
		return newLines(e.Stderr, verb, 10*time.Second)
	}
}

type nopProgress struct{}

func (nopProgress) event(client.Event) {}
func (nopProgress) close()             {}

// bars: one bar per file and a total with rate and ETA.
type bars struct {
	pw    progress.Writer
	verb  string
	mu    sync.Mutex
	files map[string]*progress.Tracker
	sizes map[string]int64
	total *progress.Tracker
	done  chan struct{}
}

// With more than manyFiles files, the bars of files under keepBarAt leave
// when done, so that thousands of small files do not flood the screen.
const (
	manyFiles = 20
	keepBarAt = 64 << 20
)

func newBars(w io.Writer, verb string) *bars {
	pw := progress.NewWriter()
	pw.SetOutputWriter(w)
	pw.SetAutoStop(false)
	pw.SetMessageLength(40)
	pw.SetTrackerLength(25)
	pw.SetUpdateFrequency(150 * time.Millisecond)
	pw.SetStyle(progress.StyleDefault)
	pw.Style().Visibility.ETA = true
	pw.Style().Visibility.Speed = true
	pw.Style().Visibility.Value = true
	pw.Style().Visibility.Time = true
	pw.Style().Options.TimeInProgressPrecision = time.Second
	pw.Style().Options.TimeDonePrecision = time.Millisecond
	b := &bars{pw: pw, verb: verb, files: map[string]*progress.Tracker{}, sizes: map[string]int64{}, done: make(chan struct{})}
	b.total = &progress.Tracker{Message: "total", Units: progress.UnitsBytes}
	pw.AppendTracker(b.total)
	go func() {
		pw.Render()
		close(b.done)
	}()
	return b
}

func (b *bars) tracker(path string) *progress.Tracker {
	t, ok := b.files[path]
	if !ok {
		size := b.sizes[path]
		t = &progress.Tracker{Message: shorten(path, 40), Total: size, Units: progress.UnitsBytes, RemoveOnCompletion: len(b.sizes) > manyFiles && size < keepBarAt}
		b.files[path] = t
		b.pw.AppendTracker(t)
	}
	return t
}

func (b *bars) event(ev client.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev.Kind {
	case client.FileQueued:
		b.sizes[ev.Path] = ev.Size
		b.total.UpdateTotal(b.total.Total + ev.Size)
	case client.FileSkipped:
		b.pw.Log("skipped %s (already in the version, same SHA-256)", ev.Path)
	case client.FileResumed:
		b.tracker(ev.Path).SetValue(ev.Bytes)
		b.total.Increment(ev.Bytes)
		b.pw.Log("resuming %s: %s of %s received before", ev.Path, human(ev.Bytes), human(ev.Size))
	case client.Bytes:
		b.tracker(ev.Path).Increment(ev.Bytes)
		b.total.Increment(ev.Bytes)
	case client.FileDone:
		t := b.tracker(ev.Path)
		t.SetValue(t.Total)
		t.MarkAsDone()
	}
}

func (b *bars) close() {
	b.mu.Lock()
	b.total.MarkAsDone()
	b.mu.Unlock()
	time.Sleep(200 * time.Millisecond) // one last render with the final values
	b.pw.Stop()
	<-b.done
}

// lines: a line per file done and a total every interval, for logs.
type lines struct {
	w          io.Writer
	verb       string
	mu         sync.Mutex
	start      time.Time
	total, got int64
	stop       chan struct{}
	wg         sync.WaitGroup
}

func newLines(w io.Writer, verb string, every time.Duration) *lines {
	l := &lines{w: w, verb: verb, start: time.Now(), stop: make(chan struct{})}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				l.mu.Lock()
				l.summary("")
				l.mu.Unlock()
			}
		}
	}()
	return l
}

func (l *lines) summary(prefix string) {
	elapsed := time.Since(l.start).Seconds()
	rate := float64(l.got) / max(elapsed, 1e-3)
	eta := "-"
	if rate > 0 && l.total > l.got {
		eta = time.Duration(float64(l.total-l.got) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100.0
	if l.total > 0 {
		pct = 100 * float64(l.got) / float64(l.total)
	}
	fmt.Fprintf(l.w, "%s%s %s of %s (%.0f%%), %s/s, ETA %s\n", prefix, l.verb, human(l.got), human(l.total), pct, human(int64(rate)), eta)
}

func (l *lines) event(ev client.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev.Kind {
	case client.FileQueued:
		l.total += ev.Size
	case client.FileSkipped:
		fmt.Fprintf(l.w, "skipped %s (already in the version, same SHA-256)\n", ev.Path)
	case client.FileResumed:
		l.got += ev.Bytes
		fmt.Fprintf(l.w, "resuming %s: %s of %s received before\n", ev.Path, human(ev.Bytes), human(ev.Size))
	case client.Bytes:
		l.got += ev.Bytes
	case client.FileDone:
		fmt.Fprintf(l.w, "%sed %s (%s)\n", l.verb, ev.Path, human(ev.Size))
	}
}

func (l *lines) close() {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.summary("done: ")
}

// human is a byte count in binary units.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// shorten keeps the end of a long path (the file name matters most).
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}
