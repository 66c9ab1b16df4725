"""The training programme: modules, cohorts and their sessions, attendance, completion, each
person's competency record and learning plan, and what a module changed on the desk."""
