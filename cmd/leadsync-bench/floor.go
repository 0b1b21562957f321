package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	bolt "go.etcd.io/bbolt"
)

// The durable floor is issue 7's own yardstick for a durable intake: the
// reference handler (read body + HMAC) plus one bbolt put of the body per
// request, committed by a single writer that takes everything queued while
// its previous commit synced (no timer), answering once that commit has
// returned. It does nothing else a lead needs (no parsing, no mapping, no
// dedupe, no outbox, no log line), so it bounds what any durable design
// reaches on this machine at this hour; leadsync's distance to it is the
// cost of the product's own work. Run in the same turns as the other two.

// floorReq is one body waiting for the floor's writer.
type floorReq struct {
	body []byte
	done chan error
}

// serveFloor serves the durable floor on addr with its bbolt file in dir.
func serveFloor(ctx context.Context, addr, dir string) error {
	// Tuned as leadsync's store is (state.Open): 8 KiB pages, the map
	// freelist; fsync on, as bbolt's default.
	db, err := bolt.Open(filepath.Join(dir, "floor.db"), 0o600, &bolt.Options{PageSize: 8192, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return err
	}
	defer db.Close()
	bucket := []byte("raw")
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		return err
	}
	q := make(chan floorReq, 4096)
	go floorWriter(db, bucket, q)

	return serveVerified(ctx, addr, func(body []byte) error {
		done := make(chan error, 1)
		q <- floorReq{body, done}
		return <-done
	})
}

// floorWriter commits everything queued, one transaction at a time.
func floorWriter(db *bolt.DB, bucket []byte, q chan floorReq) {
	var seq uint64
	batch := make([]floorReq, 0, 1024)
	for r := range q {
		batch = append(batch[:0], r)
	drain:
		for len(batch) < cap(batch) {
			select {
			case r := <-q:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			b.FillPercent = 0.95 // keys only grow
			for _, r := range batch {
				seq++
				if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), r.body); err != nil {
					return err
				}
			}
			return nil
		})
		for _, r := range batch {
			r.done <- err
		}
	}
}

// startFloor runs this binary as the durable floor, its file in the bench's
// temp dir.
func (b *bench) startFloor() (*proc, error) {
	dir, err := os.MkdirTemp(b.dir, "floor")
	if err != nil {
		return nil, err
	}
	return b.startSelf("-floor-server", dir)
}

// floorPoint is one connection count's results of the three servers.
type floorPoint struct {
	conns               int
	ref, daemon, floorR result
}

// printFloor prints the floor's table: how far it gets against the
// reference (the most any durable intake gets here today), and leadsync
// against it.
func printFloor(ps []floorPoint) {
	fmt.Println("Durable floor (issue 7's single writer: the reference + one bbolt put of the body per request, fsync on), same turns:")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conns\tfloor req/s\tp50\tp99\terrors\tfloor / reference\tleadsync / floor\tCPU/req: floor\t")
	for _, p := range ps {
		f := p.floorR
		fmt.Fprintf(tw, "%d\t%.0f\t%s\t%s\t%d\t%.0f%%\t%.0f%%\t%s\t\n", p.conns, f.rps(), ms(f.pct(.5)), ms(f.pct(.99)), f.errs,
			100*f.rps()/p.ref.rps(), 100*p.daemon.rps()/f.rps(), cpuPer(f.srv, f.n))
	}
	tw.Flush()
	fmt.Println()
}
