// Token windows and shard writers (see WindowPlan.swift, MegatronWriter.swift).
