//go:build !linux

package main

import (
	"errors"
	"os/exec"
	"time"
)

var errNotLinux = errors.New("needs Linux (/proc)")

func setParentDeathSignal(*exec.Cmd) {}

func syncDisks() {}

func readRSS(int) (int64, error) { return 0, errNotLinux }

func readCPU(int) (time.Duration, error) { return 0, errNotLinux }

func readBusyCPU() (time.Duration, error) { return 0, errNotLinux }
