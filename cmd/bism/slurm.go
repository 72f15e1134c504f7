package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bism-ml/bism/sweep"
)

// Slurm is driven through its commands (sbatch, squeue, sacct): the array
// job runs one cell per task with `bism sweep -out DIR -cell $SLURM_ARRAY_TASK_ID`,
// which resumes a requeued task from its checkpoint, and a job that
// depends on the array (afterany) writes the summary.

const slurmDir = "slurm" // under the sweep's folder: scripts, logs, job ids

// submitSlurm writes the array and summary scripts under DIR/slurm and
// submits them, recording the job ids in DIR/slurm/jobs.
func submitSlurm(a sweepArgs, cells []sweep.Cell) error {
	if a.cell >= 0 {
		return usageError("-cell and -slurm do not go together")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := filepath.Abs(a.out)
	if err != nil {
		return err
	}
	sd := filepath.Join(out, slurmDir)
	if err := os.MkdirAll(sd, 0o755); err != nil {
		return err
	}
	extra := strings.Fields(a.slurmArgs)
	data := ""
	if a.data != "" {
		d, err := filepath.Abs(a.data)
		if err != nil {
			return err
		}
		data = " -data " + shellQuote(d)
	}
	ranks := ""
	if a.ranks > 1 {
		// P tasks per cell, started by srun inside the array task.
		ranks = fmt.Sprintf("\n#SBATCH --ntasks=%d", a.ranks)
		data += fmt.Sprintf(" -ranks %d", a.ranks)
	}
	array := filepath.Join(sd, "cells.sh")
	script := fmt.Sprintf(`#!/bin/bash
# One cell of the sweep in %[1]s per array task; a requeued task resumes from
# its checkpoint.
#SBATCH --job-name=bism-sweep
#SBATCH --array=0-%[2]d
#SBATCH --output=%[3]s/cell-%%a.out
#SBATCH --open-mode=append
#SBATCH --requeue%[7]s
exec %[4]s sweep -out %[5]s -cell "$SLURM_ARRAY_TASK_ID"%[6]s
`, out, len(cells)-1, sd, shellQuote(exe), shellQuote(out), data, ranks)
	summary := filepath.Join(sd, "summary.sh")
	sumScript := fmt.Sprintf(`#!/bin/bash
# The summary of the sweep in %[1]s, after every cell has ended.
#SBATCH --job-name=bism-sweep-summary
#SBATCH --output=%[2]s/summary.out
exec %[3]s sweep -summarize %[4]s
`, out, sd, shellQuote(exe), shellQuote(out))
	for f, s := range map[string]string{array: script, summary: sumScript} {
		if err := os.WriteFile(f, []byte(s), 0o755); err != nil {
			return err
		}
	}
	arrayID, err := sbatch(append(extra, array))
	if err != nil {
		return err
	}
	sumID, err := sbatch(append(append(extra, "--dependency=afterany:"+arrayID), summary))
	if err != nil {
		return fmt.Errorf("the cells were submitted as job %s, the summary was not: %w", arrayID, err)
	}
	if err := os.WriteFile(filepath.Join(sd, "jobs"), []byte(arrayID+" "+sumID+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bism sweep: %d cells submitted to Slurm as array job %s; the summary is job %s (after it)\n", len(cells), arrayID, sumID)
	fmt.Fprintf(stderr, "follow with: bism sweep -status %s\n", a.out)
	return nil
}

// sbatch submits a script and returns the job id.
func sbatch(args []string) (string, error) {
	cmd := exec.Command("sbatch", append([]string{"--parsable"}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		if _, lookErr := exec.LookPath("sbatch"); lookErr != nil {
			return "", fmt.Errorf("-slurm needs Slurm's sbatch on the PATH: %v", lookErr)
		}
		return "", fmt.Errorf("sbatch %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(e.String()))
	}
	id, _, _ := strings.Cut(strings.TrimSpace(o.String()), ";") // "jobid[;cluster]"
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("sbatch printed %q, not a job id", o.String())
	}
	return id, nil
}

// slurmJobs returns the job ids recorded by submitSlurm ("" when none).
func slurmJobs(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, slurmDir, "jobs"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cancelSlurm cancels the Slurm jobs recorded for the sweep in dir.
func cancelSlurm(dir string) error {
	jobs := slurmJobs(dir)
	if jobs == "" {
		return fmt.Errorf("%s holds no Slurm sweep (no %s)", dir, filepath.Join(slurmDir, "jobs"))
	}
	ids := strings.Fields(jobs)
	cmd := exec.Command("scancel", ids...)
	var e bytes.Buffer
	cmd.Stderr = &e
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("scancel %s: %v: %s", strings.Join(ids, " "), err, strings.TrimSpace(e.String()))
	}
	fmt.Fprintf(stderr, "bism sweep: cancelled Slurm jobs %s; the same sweep resumes with bism sweep -out %s [-slurm]\n", strings.Join(ids, ", "), dir)
	return nil
}
