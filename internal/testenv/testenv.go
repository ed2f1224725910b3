// Package testenv gives integration tests their backends: a fresh MySQL
// database and a fresh S3 bucket per test (when the CI variables name a
// server), and a TCP proxy that can cut a connection to simulate an outage.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/go-sql-driver/mysql"
)

// The variables that enable the integration backends.
const (
	MySQLVar    = "MODELKEEP_TEST_MYSQL_DSN"     // mysql://user:pass@host:port/
	S3Var       = "MODELKEEP_TEST_S3_ENDPOINT"   // http://host:port
	S3KeyVar    = "MODELKEEP_TEST_S3_ACCESS_KEY" //
	S3SecretVar = "MODELKEEP_TEST_S3_SECRET_KEY" //
)

// Backend is one combination of stores to run server tests on.
type Backend struct {
	Name string
	// New returns the MODELKEEP_DATABASE and MODELKEEP_BLOBS values of a
	// fresh, empty pair of stores, removed when the test ends. It skips the
	// test, naming the variable, when the backend is not configured.
	New func(t *testing.T) (database, blobs string)
}

// Backends lists the embedded defaults (always) and the production pair.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite+fs", New: func(t *testing.T) (string, string) {
			dir := t.TempDir()
			return "sqlite:" + dir + "/modelkeep.db", "file:" + dir + "/blobs"
		}},
		{Name: "mysql+s3", New: func(t *testing.T) (string, string) {
			return MySQLDatabase(t), S3Bucket(t)
		}},
	}
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MySQLConfig parses the MODELKEEP_TEST_MYSQL_DSN value; it skips the test
// when the variable is unset.
func MySQLConfig(t testing.TB) *mysql.Config {
	t.Helper()
	raw := os.Getenv(MySQLVar)
	if raw == "" {
		t.Skipf("set %s (mysql://user:pass@host:port/) to run MySQL tests", MySQLVar)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mysql" {
		t.Fatalf("%s: want mysql://user:pass@host:port/", MySQLVar)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	cfg.ParseTime = true
	return cfg
}

// MySQLDatabase creates an empty database with a random mk_ name and returns
// its mysql:// URL; the database is dropped when the test ends.
func MySQLDatabase(t testing.TB) string {
	t.Helper()
	cfg := MySQLConfig(t)
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open mysql: %v", err)
	}
	name := "mk_t_" + randomSuffix()
	if _, err := db.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		db.Close()
	})
	u := url.URL{Scheme: "mysql", User: url.UserPassword(cfg.User, cfg.Passwd), Host: cfg.Addr, Path: "/" + name}
	return u.String()
}

// S3Client returns a client for the test S3 server (skipping the test when
// it is not configured) and its endpoint.
func S3Client(t testing.TB) (*s3.Client, string) {
	t.Helper()
	endpoint := os.Getenv(S3Var)
	if endpoint == "" {
		t.Skipf("set %s, %s and %s to run S3 tests", S3Var, S3KeyVar, S3SecretVar)
	}
	client := s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       "us-east-1",
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(os.Getenv(S3KeyVar), os.Getenv(S3SecretVar), ""),
	})
	return client, endpoint
}

// S3Bucket creates an empty bucket with a random name, points the standard
// AWS credential variables at the test server for the rest of the test, and
// returns the MODELKEEP_BLOBS value for it. The bucket is emptied and
// removed when the test ends.
func S3Bucket(t testing.TB) string {
	t.Helper()
	return S3BucketAt(t, "")
}

// S3BucketAt is S3Bucket with the spec's endpoint replaced by endpoint (for
// a proxy in front of the server); "" keeps the real one.
func S3BucketAt(t testing.TB, endpoint string) string {
	t.Helper()
	client, real := S3Client(t)
	if endpoint == "" {
		endpoint = real
	}
	ctx := context.Background()
	bucket := "mk-t-" + randomSuffix()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	t.Cleanup(func() { removeBucket(t, client, bucket) })
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv(S3KeyVar))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv(S3SecretVar))
	t.Setenv("AWS_REGION", "us-east-1")
	return fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1&path_style=true", bucket, url.QueryEscape(endpoint))
}

func removeBucket(t testing.TB, client *s3.Client, bucket string) {
	ctx := context.Background()
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Errorf("list bucket %s: %v", bucket, err)
			return
		}
		for _, o := range page.Contents {
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key}); err != nil {
				t.Errorf("delete %s: %v", *o.Key, err)
			}
		}
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
		t.Errorf("delete bucket %s: %v", bucket, err)
	}
}

// BucketKeys lists the keys in the bucket named by an s3:// spec.
func BucketKeys(t testing.TB, spec string) []string {
	t.Helper()
	client, _ := S3Client(t)
	u, err := url.Parse(spec)
	if err != nil {
		t.Fatalf("parse %q: %v", spec, err)
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(u.Host)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list bucket: %v", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	return keys
}

// Proxy forwards TCP connections to a target and can be switched off, which
// cuts every open connection and refuses new ones, like a server going away.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

// StartProxy listens on a free loopback port and forwards to target.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.SetDown(true) })
	return p
}

// Addr is host:port of the proxy.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetDown switches the proxy off (cutting open connections) or on again.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(client)
	}
}

func (p *Proxy) forward(client net.Conn) {
	if !p.track(client) {
		client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(server) {
		client.Close()
		if server != nil {
			server.Close()
		}
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		// A cut connection simply ends the copy; closing both ends makes
		// the other direction stop too.
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	<-done
}
