// Alert rules on what the app reports to Application Insights (docs/reference/infrastructure.md, "Alerts", names the exact
// telemetry the code emits):
// - the recovery point age: the metric replication.recovery_point_age_hours (customMetrics, dimensions project
//   and target) or the equivalent log line "replication.recovery_point_age_hours project=P target=T hours=H"
//   (traces); the newest value per (project, target) is aged by the time since it was reported, so a drift check
//   that stopped running raises the alert too;
// - the log lines are read with extract() and an explicit regular expression (not `parse`), so
//   tests/infra/test_deployment.py runs the very same expressions over the lines the code logs;
// - failed runs: the log line "replication.run_failed project=P target=T run_id=R ..." (traces) or a custom
//   event named replication.run_failed (customEvents);
// - silence: no recovery point age reported at all for two days (the timer or the whole app is down).
// Result columns are projectName, targetName and runId: `project` is a KQL keyword (the operator), which would need
// quoting as a column name.

param location string
param tags object = {}

@description('Resource ID of the Application Insights component the rules query.')
param applicationInsightsId string

@description('Alert when the secondary serves a primary state older than this many hours.')
@minValue(1)
param recoveryPointAgeThresholdHours int = 36

@description('E-mail address notified by the alerts; no action group when empty.')
param alertEmail string = ''

param namePrefix string

var actionGroups = empty(alertEmail) ? [] : [
  actionGroup.id
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-replication'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'langdr'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource recoveryPointAgeAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-recovery-point-age'
  location: location
  tags: tags
  properties: {
    displayName: 'Language DR: recovery point older than ${recoveryPointAgeThresholdHours} h'
    description: 'The secondary serves a primary state older than the threshold (or the age stopped being reported and has aged past it).'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'P2D'
    criteria: {
      allOf: [
        {
          query: 'let threshold = ${recoveryPointAgeThresholdHours}.0;\nlet fromMetrics = customMetrics | where name == "replication.recovery_point_age_hours" | project timestamp, hours = todouble(value), projectName = tostring(customDimensions["project"]), targetName = tostring(customDimensions["target"]);\nlet ageLine = @"^replication\\.recovery_point_age_hours project=(\\S+) target=(\\S+) hours=(\\S+)$";\nlet fromTraces = traces | where message startswith "replication.recovery_point_age_hours " | extend projectName = extract(ageLine, 1, message), targetName = extract(ageLine, 2, message), hours = todouble(extract(ageLine, 3, message)) | where isnotempty(projectName) and isnotnull(hours) | project timestamp, hours, projectName, targetName;\nunion fromMetrics, fromTraces\n| summarize arg_max(timestamp, hours) by projectName, targetName\n| extend age_hours = hours + (now() - timestamp) / 1h\n| where age_hours > threshold'
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'projectName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'targetName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource failedRunAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-failed-runs'
  location: location
  tags: tags
  properties: {
    displayName: 'Language DR: replication run failed'
    description: 'A replication run ended in the failed state; the log line carries the project, target, run and reason.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'let failedLine = @"^replication\\.run_failed project=(\\S+) target=(\\S+) run_id=(\\S+) ";\nunion (traces | where message startswith "replication.run_failed " | extend projectName = extract(failedLine, 1, message), targetName = extract(failedLine, 2, message), runId = extract(failedLine, 3, message) | where isnotempty(projectName)), (customEvents | where name == "replication.run_failed" | extend projectName = tostring(customDimensions["project"]), targetName = tostring(customDimensions["target"]), runId = tostring(customDimensions["run_id"]))\n| project timestamp, projectName, targetName, runId'
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'projectName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: false
    actions: {
      actionGroups: actionGroups
    }
  }
}

resource silenceAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-recovery-point-age-missing'
  location: location
  tags: tags
  properties: {
    displayName: 'Language DR: recovery point age not reported for two days'
    description: 'The drift check has not reported a recovery point age for two days: the timer or the app is down.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT6H'
    windowSize: 'P2D'
    criteria: {
      allOf: [
        {
          query: 'union (customMetrics | where name == "replication.recovery_point_age_hours"), (traces | where message startswith "replication.recovery_point_age_hours ")'
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroups
    }
  }
}

output recoveryPointAgeAlertId string = recoveryPointAgeAlert.id
output failedRunAlertId string = failedRunAlert.id
