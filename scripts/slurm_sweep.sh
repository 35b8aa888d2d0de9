#!/bin/bash
# One task of a SLURM job array filling a shared sweep cache, or the assembling run.
# The recipe, and why, is in docs/sweeps.md.
#
#   CACHE=/shared/genmem/uddm_sweep            # a folder every node sees
#   jid=$(sbatch --parsable --array=1-16 scripts/slurm_sweep.sh \
#         uddm sweep run --preset cpu --cache "$CACHE")
#   sbatch --dependency=afterok:$jid scripts/slurm_sweep.sh \
#         python experiments/uddm_fig2.py --preset cpu --cache "$CACHE"
#
# Inside an array task the command gets `--shard i/n --workers k` appended: i is the
# task's place in the array (1-based, also for --array=0-15), n the number of tasks,
# k = $SLURM_CPUS_PER_TASK (default 1; $SWEEP_WORKERS overrides). Outside an array (the
# assembling run, or by hand) the command runs as given: it reads what the array
# computed and computes only what is still missing.
#
#SBATCH --job-name=genmem-sweep
#SBATCH --cpus-per-task=1
#SBATCH --time=04:00:00
#SBATCH --output=slurm-%x-%A_%a.out
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: sbatch --array=1-N $0 COMMAND [ARGS...]   (see docs/sweeps.md)" >&2
    exit 2
fi

# one thread per worker process; the engine's workers set this themselves too
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1

if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
    echo "slurm_sweep: not an array task; running: $*" >&2
    exec "$@"
fi

count="${SLURM_ARRAY_TASK_COUNT:?SLURM_ARRAY_TASK_COUNT is not set (an old SLURM?)}"
first="${SLURM_ARRAY_TASK_MIN:-1}"
i=$(( SLURM_ARRAY_TASK_ID - first + 1 ))
if [ "$i" -lt 1 ] || [ "$i" -gt "$count" ]; then
    echo "slurm_sweep: task $SLURM_ARRAY_TASK_ID is not in a contiguous array of $count tasks" \
         "starting at $first; submit with --array=1-N (no step, e.g. not 1-15:2)" >&2
    exit 2
fi
workers="${SWEEP_WORKERS:-${SLURM_CPUS_PER_TASK:-1}}"
echo "slurm_sweep: array job ${SLURM_ARRAY_JOB_ID:-?} task $SLURM_ARRAY_TASK_ID on $(hostname):" \
     "shard $i/$count, $workers worker(s): $*" >&2
exec "$@" --shard "$i/$count" --workers "$workers"
