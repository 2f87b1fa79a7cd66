-- Argo CD health check for serving.modelgate.dev/ModelDeployment.
-- Install it with the kustomization beside it (kubectl apply --server-side
-- -k config/gitops), or paste it under that key of argocd-cm. It reads the conditions
-- modelgate writes for kstatus (Reconciling, Stalled, Ready) and the phase:
--   Progressing  modelgate has not handled the spec yet, or moves traffic
--   Suspended    waiting for a person: a paused step or a missing approval
--   Degraded     needs a change: rolled back, checklist failing, invalid spec
--   Healthy      the asked-for version serves all traffic
local hs = {}
local function condition(t)
  if obj.status ~= nil and obj.status.conditions ~= nil then
    for _, c in ipairs(obj.status.conditions) do
      if c.type == t then
        return c
      end
    end
  end
  return nil
end

local gen = obj.metadata.generation
-- A condition written for an older spec says nothing of this one.
local function fresh(c)
  return c ~= nil and (c.observedGeneration == nil or gen == nil or c.observedGeneration == gen)
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for modelgate to handle the ModelDeployment"
  return hs
end

local ready = condition("Ready")
local stalled = condition("Stalled")
local reconciling = condition("Reconciling")
local phase = obj.status.phase or ""

-- Waiting for a person: a generation awaiting approval is not handled yet
-- (status.observedGeneration stays behind), so this comes first.
if (phase == "Paused" or phase == "AwaitingApproval") and fresh(reconciling) and reconciling.status == "True" then
  hs.status = "Suspended"
  hs.message = phase .. ": " .. (reconciling.message or reconciling.reason or "")
  return hs
end
if obj.status.observedGeneration ~= nil and gen ~= nil and obj.status.observedGeneration ~= gen then
  hs.status = "Progressing"
  hs.message = "Waiting for modelgate to handle generation " .. gen
  return hs
end
if fresh(stalled) and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = phase .. ": " .. (stalled.message or stalled.reason or "")
  return hs
end
if fresh(reconciling) and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = phase .. ": " .. (reconciling.message or reconciling.reason or "")
  return hs
end
if fresh(ready) and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
hs.status = "Progressing"
hs.message = phase .. ": " .. ((ready ~= nil and ready.message) or "waiting for Ready")
return hs
