// Package testenv gives integration tests their backends: a fresh MySQL
// database and a fresh S3 bucket per test (when the CI variables name a
// server), and a TCP proxy that can cut a connection to simulate an outage.
// It is the one place that reads the MODELKEEP_TEST_* variables: the store,
// blob and server tests all get their databases and buckets from it.
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
	"strings"
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

// S3Region is the region the test buckets are made and addressed in.
const S3Region = "us-east-1"

// Backend is one combination of stores to run server tests on.
type Backend struct {
	Name string
	// New returns the MODELKEEP_DATABASE and MODELKEEP_BLOBS values of a
	// fresh pair of stores, removed when the test ends: the database
	// migrated when the package runs with templates (Main), else empty. It
	// skips the test, naming the variable, when the backend is not
	// configured.
	New func(t testing.TB) (database, blobs string)
}

// Backends lists the embedded defaults (always) and the production pair.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite+fs", New: func(t testing.TB) (string, string) {
			dir := t.TempDir()
			return SQLiteDatabase(t, dir+"/modelkeep.db"), "file:" + dir + "/blobs"
		}},
		{Name: "mysql+s3", New: func(t testing.TB) (string, string) {
			return MySQLMigrated(t), S3Bucket(t)
		}},
	}
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// mysqlURL returns the MODELKEEP_TEST_MYSQL_DSN value, parsed; it skips the
// test when the variable is unset.
func mysqlURL(t testing.TB) *url.URL {
	t.Helper()
	if os.Getenv(MySQLVar) == "" {
		t.Skipf("set %s (mysql://user:pass@host:port/) to run MySQL tests", MySQLVar)
	}
	u, err := mysqlServerURL()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// mysqlServerURL parses the MODELKEEP_TEST_MYSQL_DSN value.
func mysqlServerURL() (*url.URL, error) {
	raw := os.Getenv(MySQLVar)
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Scheme != "mysql" {
		return nil, fmt.Errorf("%s: want mysql://user:pass@host:port/", MySQLVar)
	}
	return u, nil
}

// MySQLConfig parses the MODELKEEP_TEST_MYSQL_DSN value; it skips the test
// when the variable is unset.
func MySQLConfig(t testing.TB) *mysql.Config {
	t.Helper()
	mysqlURL(t)
	cfg, err := mysqlConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mysqlConfig() (*mysql.Config, error) {
	u, err := mysqlServerURL()
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	cfg.ParseTime = true
	return cfg, nil
}

// databaseOf is the database a mysql:// URL names.
func databaseOf(mysqlURL string) string {
	u, err := url.Parse(mysqlURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// MySQLDatabase creates an empty database with a random mk_ name and returns
// its mysql:// URL (the server's URL with the database as its path, query
// kept); the database is dropped when the test ends. It skips the test when
// MODELKEEP_TEST_MYSQL_DSN is unset.
func MySQLDatabase(t testing.TB) string {
	t.Helper()
	u := mysqlURL(t)
	db, err := sql.Open("mysql", MySQLConfig(t).FormatDSN())
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
	u.Path, u.RawPath = "/"+name, ""
	return u.String()
}

// S3Server is the S3-compatible server the MODELKEEP_TEST_S3_* variables
// name.
type S3Server struct {
	Endpoint, AccessKey, SecretKey string
}

// S3 returns the test S3 server; it skips the test, naming the variables,
// when MODELKEEP_TEST_S3_ENDPOINT is unset.
func S3(t testing.TB) S3Server {
	t.Helper()
	endpoint := os.Getenv(S3Var)
	if endpoint == "" {
		t.Skipf("set %s, %s and %s to run S3 tests", S3Var, S3KeyVar, S3SecretVar)
	}
	return S3Server{Endpoint: endpoint, AccessKey: os.Getenv(S3KeyVar), SecretKey: os.Getenv(S3SecretVar)}
}

// Client is a plain SDK client for the server, for setting up and
// inspecting buckets apart from the code under test.
func (s S3Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		Region:       S3Region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// NewBucket creates an empty bucket with a random name and returns the
// name. When the test ends the bucket is removed with its objects and any
// multipart upload still open (see FailOnOpenUploads).
func (s S3Server) NewBucket(t testing.TB) string {
	t.Helper()
	client := s.Client()
	bucket := "mk-t-" + randomSuffix()
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() { removeBucket(t, client, bucket) })
	return bucket
}

// FailOnOpenUploads makes the test fail if a multipart upload is still open
// in bucket when the test ends (a failed put must abort its own). Call it
// after NewBucket, so that it runs before the bucket's removal.
func (s S3Server) FailOnOpenUploads(t testing.TB, bucket string) {
	t.Helper()
	client := s.Client()
	t.Cleanup(func() {
		// t.Context is already cancelled when clean-ups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		uploads, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
		if err != nil {
			t.Errorf("list multipart uploads: %v", err)
			return
		}
		for _, u := range uploads.Uploads {
			t.Errorf("multipart upload for %q left open", aws.ToString(u.Key))
		}
	})
}

// S3Client returns a client for the test S3 server (skipping the test when
// it is not configured) and its endpoint.
func S3Client(t testing.TB) (*s3.Client, string) {
	t.Helper()
	s := S3(t)
	return s.Client(), s.Endpoint
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
	s := S3(t)
	if endpoint == "" {
		endpoint = s.Endpoint
	}
	bucket := s.NewBucket(t)
	s.exportCredentials(t)
	return fmt.Sprintf("s3://%s?endpoint=%s&region=%s&path_style=true", bucket, url.QueryEscape(endpoint), S3Region)
}

// exportCredentials puts the test server's credentials in the process's
// environment, where the S3 blob store finds them (the AWS credential
// chain), once for the whole test binary: every test uses the same
// server, and a process-wide setting (unlike t.Setenv) lets tests on
// different backends run in parallel. A test that needs other credentials
// sets them with t.Setenv, which restores these afterwards.
func (s S3Server) exportCredentials(t testing.TB) {
	t.Helper()
	credentialsOnce.Do(func() {
		for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": s.AccessKey, "AWS_SECRET_ACCESS_KEY": s.SecretKey, "AWS_REGION": S3Region} {
			if err := os.Setenv(k, v); err != nil {
				credentialsErr = err
			}
		}
	})
	if credentialsErr != nil {
		t.Fatalf("export the S3 credentials: %v", credentialsErr)
	}
}

var (
	credentialsOnce sync.Once
	credentialsErr  error
)

// S3LockedBucket is S3Bucket for a bucket with Object Lock enabled (S3
// servers enable versioning with it). Objects locked in compliance mode
// cannot be removed before their retention ends, not even by the test: the
// clean-up removes what it can and leaves the rest to the server's
// directory, which the test script deletes when it stops the server.
func S3LockedBucket(t testing.TB) string {
	t.Helper()
	s := S3(t)
	client := s.Client()
	bucket := "mk-lock-" + randomSuffix()
	_, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket, ObjectLockEnabledForBucket: aws.Bool(true)})
	if err != nil {
		t.Fatalf("create bucket %s with object lock (versitygw needs --versioning-dir): %v", bucket, err)
	}
	t.Cleanup(func() { removeLockedBucket(t, client, bucket) })
	s.exportCredentials(t)
	return fmt.Sprintf("s3://%s?endpoint=%s&region=%s&path_style=true", bucket, url.QueryEscape(s.Endpoint), S3Region)
}

// removeLockedBucket deletes every object version the server lets go and,
// when none is left, the bucket; locked versions stay, without error.
func removeLockedBucket(t testing.TB, client *s3.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	left := 0
	p := s3.NewListObjectVersionsPaginator(client, &s3.ListObjectVersionsInput{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Logf("list versions of %s: %v", bucket, err)
			return
		}
		for _, v := range page.Versions {
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: v.Key, VersionId: v.VersionId}); err != nil {
				left++
			}
		}
		for _, m := range page.DeleteMarkers {
			_, _ = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: m.Key, VersionId: m.VersionId})
		}
	}
	if left > 0 {
		t.Logf("bucket %s keeps %d locked object versions until their retention ends", bucket, left)
		return
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
		t.Logf("delete bucket %s: %v", bucket, err)
	}
}

// removeBucket aborts the bucket's open multipart uploads, deletes its
// objects and then the bucket.
func removeBucket(t testing.TB, client *s3.Client, bucket string) {
	// t.Context is already cancelled when clean-ups run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	uploads, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Errorf("list multipart uploads of %s: %v", bucket, err)
	} else {
		for _, u := range uploads.Uploads {
			_, _ = client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
		}
	}
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

// Stop closes the proxy's listener and cuts its connections for good: new
// connections are then refused, as by a server that was stopped (SetDown
// accepts and closes them instead, as a failing server or network would).
func (p *Proxy) Stop() {
	p.ln.Close()
	p.SetDown(true)
}
