// Disaster-recovery replica of Azure AI Language custom projects (custom NER, custom text classification).
//
// Topology: the primary Language resource and its documents storage already exist (parameters name them). The
// function app, its storage (deployment package, step queue, write-once snapshots) and its monitoring are
// deployed to this resource group's region: the secondary region, or a third one, never the primary's, so
// replication, restore and the snapshot catalogue keep working during the outage they exist for. The secondary
// Language resource (with its own linked documents storage) is created here, or an existing one is named.
//
// Deploy with `azd up`, or `az deployment group create -g <rg> -f infra/main.bicep -p ...` (docs/how-to/deploy.md).

targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd): seeds the names of the resources created here.')
param environmentName string

@description('Region of the function app and its snapshot storage: the secondary region or a third one, never the primary\'s.')
param location string = resourceGroup().location

// ---- the primary (existing) -----------------------------------------------------------------------------------

@description('Name of the existing primary Language resource (it must have a custom subdomain for Entra ID).')
param primaryLanguageName string

@description('Resource group of the primary Language resource.')
param primaryResourceGroupName string

@description('Subscription of the primary Language resource and its storage.')
param primarySubscriptionId string = subscription().subscriptionId

@description('Name of the storage account linked to the primary Language resource (its documents).')
param primaryDocumentsStorageName string

@description('Resource group of the primary documents storage account.')
param primaryDocumentsStorageResourceGroupName string = primaryResourceGroupName

// ---- the secondary (created here, or existing) ----------------------------------------------------------------

@description('Region of the secondary Language resource. Only regions where custom NER and custom text classification authoring (import, train, deploy) exist.')
// Authoring regions of both custom named entity recognition and custom text classification, from Microsoft's
// "Azure Language region support" page (learn.microsoft.com/azure/ai-services/language-service/concepts/regional-support,
// sections "Custom named entity recognition" and "Custom text classification", Authoring column). The same list is
// shared/language/regions.py, which the app's health and drift checks use; tests/infra keeps the two equal.
@allowed([
  'australiaeast'
  'canadacentral'
  'centralindia'
  'eastus'
  'eastus2'
  'northeurope'
  'southcentralus'
  'switzerlandnorth'
  'uksouth'
  'westeurope'
  'westus2'
  'westus3'
])
param secondaryLocation string

@description('Create the secondary Language resource and its documents storage here; false to use an existing one.')
param createSecondaryLanguage bool = true

@description('Name (and custom subdomain) of the secondary Language resource; generated when empty.')
param secondaryLanguageName string = ''

@description('Resource group of the secondary Language resource and its documents storage (created or existing); it must exist.')
param secondaryResourceGroupName string = resourceGroup().name

@description('Name of the secondary\'s linked documents storage account; generated when empty and created.')
param secondaryDocumentsStorageName string = ''

@description('Grant Storage Blob Data Contributor to each Language resource\'s system identity on its own documents storage. Turn off when the assignment already exists under another name.')
param assignLanguageStorageRoles bool = true

// ---- behaviour ------------------------------------------------------------------------------------------------

@description('Geo-redundant (RA-GRS) storage for the snapshots and the created documents account; LRS when false.')
param geoRedundantStorage bool = true

@description('Authenticate to the Language resources with their keys (stored as app settings) instead of the managed identity.')
param useLanguageKeys bool = false

@description('Restoring into the primary needs more than Language Reader there: grant Language Owner on the primary and Storage Blob Data Contributor on its documents.')
param allowRestoreToPrimary bool = false

@description('REPLICATED_PROJECTS: comma-separated project names, or * for every project of the primary.')
param replicatedProjects string = '*'

@description('DRIFT_SCHEDULE: NCRONTAB (six fields, UTC on Flex Consumption) of the daily drift check.')
param driftSchedule string = '0 0 3 * * *'

@allowed([
  '2022-05-01'
  '2023-04-01'
])
param languageApiVersion string = '2023-04-01'

@description('CONVERSATIONS_API_VERSION: the analyze-conversations authoring and runtime api-version (CLU, orchestration).')
@allowed([
  '2022-05-01'
  '2023-04-01'
])
param conversationsApiVersion string = '2023-04-01'

@description('CLU_DEFAULT_TRAINING_MODE: a CLU project trainingMode when the primary one is unknown (advanced is billed).')
@allowed([
  'standard'
  'advanced'
])
param cluDefaultTrainingMode string = 'standard'

@minValue(1)
param maxTrainingsPerProjectPerDay int = 3

@description('VERIFY_AGREEMENT_THRESHOLD: share (0-1) of sampled predictions that must agree across regions.')
param verifyAgreementThreshold string = '1.0'

@description('VERIFY_AGREEMENT_THRESHOLD_RESAMPLED: the agreement required when the service drew a new train/test split.')
param verifyAgreementThresholdResampled string = '0.8'

@description('VERIFY_EVALUATION_TOLERANCE: largest F1 gap (0-1) between the two models on the same test set.')
param verifyEvaluationTolerance string = '0.02'

@description('TRAINING_SPLIT: exact rebuilds the primary train/test split; service lets the service draw one.')
@allowed([
  'exact'
  'service'
])
param trainingSplit string = 'exact'

@minValue(1)
param runStallTimeoutMinutes int = 30

@description('Alert when the recovery point is older than this many hours.')
@minValue(1)
param recoveryPointAgeAlertHours int = 36

@description('E-mail address for the alerts; none when empty.')
param alertEmail string = ''

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

// ---- backup and recovery (issue 7) ----------------------------------------------------------------------------

@description('SNAPSHOT_RETENTION_COUNT: keep at least the newest N snapshots per project; empty keeps every one.')
param snapshotRetentionCount string = ''

@description('SNAPSHOT_RETENTION_DAYS: keep snapshots younger than N days; empty keeps every one.')
param snapshotRetentionDays string = ''

@description('EXPIRY_WARNING_DAYS: warn this many days before a model, deployment or training config expires.')
@minValue(0)
param expiryWarningDays int = 30

@description('NOTIFY_WEBHOOK_URL: Slack, Teams-workflow or JSON webhook for failures and warnings; none when empty.')
@secure()
param notifyWebhookUrl string = ''

@allowed([
  'json'
  'slack'
  'teams'
])
param notifyFormat string = 'json'

@description('DELETE_REMOVED_PROJECTS: delete a replica when its project is deleted on the primary (default: report only).')
param deleteRemovedProjects bool = false

@description('SECONDARY_TARGETS: comma-separated names of further targets beside the secondary; empty for none. Each needs its settings in secondaryTargetSettings and its role assignments (docs/how-to/deploy.md, "More targets").')
param secondaryTargets string = ''

@description('The SECONDARY__<NAME>__* app settings of the targets in secondaryTargets (LANGUAGE_ENDPOINT, DOCUMENTS_STORAGE, REGION; optional LANGUAGE_KEY, DOCUMENTS_CONTAINER). Secure: it may carry keys.')
@secure()
param secondaryTargetSettings object = {}

@description('DRIFT_FULL_CHECK_DAYS: between full passes the daily drift check reads only the resources\' project lists; every replica is read project by project when its last full pass is this many days old.')
@minValue(1)
param driftFullCheckDays int = 7

@description('DRILL_EVERY_DAYS: the daily timer runs the DR drill when the last one is this many days old; 0 runs it only on demand.')
@minValue(0)
param drillEveryDays int = 0

@description('Object ID of the prediction callers\' identity (e.g. a managed identity they share) that follows a promotion: Storage Blob Data Reader on the routing container alone. None when empty.')
param routingReaderPrincipalId string = ''

// ---- names ----------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-langdr-${resourceToken}'
var appStorageName = take('stlangdr${resourceToken}', 24)
var deploymentContainerName = 'app-package-${take(resourceToken, 20)}'
var snapshotContainerName = 'snapshots'
var routingContainerName = 'routing'
var stepQueueName = 'replication-steps'
var effectiveSecondaryLanguageName = empty(secondaryLanguageName) ? 'lang-dr-${resourceToken}' : secondaryLanguageName
var effectiveSecondaryDocumentsStorageName = empty(secondaryDocumentsStorageName) ? take('stlangdocs${resourceToken}', 24) : secondaryDocumentsStorageName

// Role definitions, by GUID. Each is the least the app needs for its part of the sequence (docs/how-to/deploy.md).
var roles = {
  languageReader: '7628b7b8-a8b2-4cdc-b46f-e9b35248918e' // Cognitive Services Language Reader
  languageOwner: 'f07febfe-79bc-46b1-8b37-790e26e6e498' // Cognitive Services Language Owner
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1' // Storage Blob Data Reader
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
}

// ---- existing resources ---------------------------------------------------------------------------------------

resource primaryLanguage 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: primaryLanguageName
  scope: resourceGroup(primarySubscriptionId, primaryResourceGroupName)
}

resource primaryDocumentsStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: primaryDocumentsStorageName
  scope: resourceGroup(primarySubscriptionId, primaryDocumentsStorageResourceGroupName)
}

resource existingSecondaryLanguage 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: effectiveSecondaryLanguageName
  scope: resourceGroup(secondaryResourceGroupName)
}

resource existingSecondaryDocumentsStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: effectiveSecondaryDocumentsStorageName
  scope: resourceGroup(secondaryResourceGroupName)
}

// ---- the app and its storage (secondary or third region) ------------------------------------------------------

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-langdr-${resourceToken}'
  location: location
  tags: tags
}

module appStorage 'app/storage.bicep' = {
  name: 'app-storage'
  params: {
    name: appStorageName
    location: location
    tags: tags
    geoRedundant: geoRedundantStorage
    deploymentContainerName: deploymentContainerName
    snapshotContainerName: snapshotContainerName
    routingContainerName: routingContainerName
    stepQueueName: stepQueueName
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-langdr-${resourceToken}'
    applicationInsightsName: 'appi-langdr-${resourceToken}'
    location: location
    tags: tags
  }
}

module secondaryLanguage 'app/language.bicep' = if (createSecondaryLanguage) {
  name: 'secondary-language-${resourceToken}'
  scope: resourceGroup(secondaryResourceGroupName)
  params: {
    name: effectiveSecondaryLanguageName
    location: secondaryLocation
    tags: tags
    documentsStorageName: effectiveSecondaryDocumentsStorageName
    geoRedundant: geoRedundantStorage
    disableLocalAuth: !useLanguageKeys
  }
}

// Custom-subdomain endpoints (https://<subdomain>.cognitiveservices.azure.com/): Entra ID needs them.
var primaryLanguageEndpoint = primaryLanguage.properties.endpoint
var secondaryLanguageEndpoint = createSecondaryLanguage ? secondaryLanguage.outputs.endpoint : existingSecondaryLanguage.properties.endpoint
var secondaryDocumentsBlobEndpoint = createSecondaryLanguage ? secondaryLanguage.outputs.documentsBlobEndpoint : existingSecondaryDocumentsStorage.properties.primaryEndpoints.blob
var secondaryRegion = createSecondaryLanguage ? secondaryLocation : existingSecondaryLanguage.location

// Every setting the code reads (shared.settings.KNOWN_SETTINGS); tests/infra checks both sides agree.
var productSettings = {
  PRIMARY_LANGUAGE_ENDPOINT: primaryLanguageEndpoint
  // An empty key means "no key": the app then uses its managed identity (Entra ID).
  PRIMARY_LANGUAGE_KEY: useLanguageKeys ? primaryLanguage.listKeys().key1 : ''
  PRIMARY_DOCUMENTS_STORAGE: primaryDocumentsStorage.properties.primaryEndpoints.blob
  SECONDARY_LANGUAGE_ENDPOINT: secondaryLanguageEndpoint
  SECONDARY_LANGUAGE_KEY: useLanguageKeys ? existingSecondaryLanguage.listKeys().key1 : ''
  SECONDARY_DOCUMENTS_STORAGE: secondaryDocumentsBlobEndpoint
  SECONDARY_REGION: secondaryRegion
  DOCUMENTS_SHARED: 'false'
  REPLICATED_PROJECTS: replicatedProjects
  // The snapshots live in the app's own storage account: resolved through the host's identity-based connection.
  SNAPSHOT_STORAGE: 'AzureWebJobsStorage'
  SNAPSHOT_CONTAINER: snapshotContainerName
  DRIFT_SCHEDULE: driftSchedule
  LANGUAGE_API_VERSION: languageApiVersion
  CONVERSATIONS_API_VERSION: conversationsApiVersion
  CLU_DEFAULT_TRAINING_MODE: cluDefaultTrainingMode
  MAX_TRAININGS_PER_PROJECT_PER_DAY: string(maxTrainingsPerProjectPerDay)
  VERIFY_AGREEMENT_THRESHOLD: verifyAgreementThreshold
  VERIFY_AGREEMENT_THRESHOLD_RESAMPLED: verifyAgreementThresholdResampled
  VERIFY_EVALUATION_TOLERANCE: verifyEvaluationTolerance
  TRAINING_SPLIT: trainingSplit
  RUN_STALL_TIMEOUT_MINUTES: string(runStallTimeoutMinutes)
  SECONDARY_TARGETS: secondaryTargets
  SNAPSHOT_RETENTION_COUNT: snapshotRetentionCount
  SNAPSHOT_RETENTION_DAYS: snapshotRetentionDays
  EXPIRY_WARNING_DAYS: string(expiryWarningDays)
  RECOVERY_POINT_MAX_AGE_HOURS: string(recoveryPointAgeAlertHours)
  NOTIFY_WEBHOOK_URL: notifyWebhookUrl
  NOTIFY_FORMAT: notifyFormat
  DELETE_REMOVED_PROJECTS: deleteRemovedProjects ? 'true' : 'false'
  ROUTING_CONTAINER: routingContainerName
  DRILL_EVERY_DAYS: string(drillEveryDays)
  DRIFT_FULL_CHECK_DAYS: string(driftFullCheckDays)
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: functionAppName
    planName: 'plan-langdr-${resourceToken}'
    location: location
    tags: tags
    storageAccountName: appStorage.outputs.name
    deploymentContainerUrl: appStorage.outputs.deploymentContainerUrl
    identityId: appIdentity.id
    identityClientId: appIdentity.properties.clientId
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    // Kept in the template's parameters, so a redeployment never drops a further target's settings.
    productSettings: union(productSettings, secondaryTargetSettings)
    maximumInstanceCount: maximumInstanceCount
  }
  dependsOn: [
    appBlobDataOwner
    appQueueDataContributor
    appMetricsPublisher
  ]
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    recoveryPointAgeThresholdHours: recoveryPointAgeAlertHours
    alertEmail: alertEmail
    namePrefix: 'langdr-${resourceToken}'
  }
}

// ---- role assignment: prediction callers read the promotion record, nothing else --------------------------------

module routingReader 'rbac/container-role.bicep' = if (!empty(routingReaderPrincipalId)) {
  name: 'rbac-routing-reader'
  params: {
    storageAccountName: appStorage.outputs.name
    containerName: appStorage.outputs.routingContainerName
    principalId: routingReaderPrincipalId
    roleDefinitionId: roles.storageBlobDataReader
  }
}

// ---- role assignments: the app's identity -------------------------------------------------------------------

// The app's own storage: the host's state and deployment package (blob), the step queue (queue), the snapshots.
module appBlobDataOwner 'rbac/storage-role.bicep' = {
  name: 'rbac-app-storage-blob-owner'
  params: {
    storageAccountName: appStorage.outputs.name
    principalId: appIdentity.properties.principalId
    roleDefinitionId: roles.storageBlobDataOwner
  }
}

module appQueueDataContributor 'rbac/storage-role.bicep' = {
  name: 'rbac-app-storage-queue-contributor'
  params: {
    storageAccountName: appStorage.outputs.name
    principalId: appIdentity.properties.principalId
    roleDefinitionId: roles.storageQueueDataContributor
  }
}

// Telemetry with Entra ID (the component has local auth off).
module appMetricsPublisher 'rbac/monitoring-role.bicep' = {
  name: 'rbac-app-metrics-publisher'
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    principalId: appIdentity.properties.principalId
    roleDefinitionId: roles.monitoringMetricsPublisher
  }
}

// The primary: read projects and export them (export is allowed to Reader), read its documents.
module primaryLanguageReader 'rbac/language-role.bicep' = {
  name: 'rbac-primary-language-reader-${resourceToken}'
  scope: resourceGroup(primarySubscriptionId, primaryResourceGroupName)
  params: {
    languageAccountName: primaryLanguage.name
    principalId: appIdentity.properties.principalId
    roleDefinitionId: roles.languageReader
  }
}

module primaryDocumentsReader 'rbac/storage-role.bicep' = {
  name: 'rbac-primary-documents-reader-${resourceToken}'
  scope: resourceGroup(primarySubscriptionId, primaryDocumentsStorageResourceGroupName)
  params: {
    storageAccountName: primaryDocumentsStorage.name
    principalId: appIdentity.properties.principalId
    roleDefinitionId: roles.storageBlobDataReader
  }
}

// Restore into the primary (off by default): import, train and deploy need Owner, and its documents need writing.
module primaryLanguageOwner 'rbac/language-role.bicep' = if (allowRestoreToPrimary) {
  name: 'rbac-primary-language-owner-${resourceToken}'
  scope: resourceGroup(primarySubscriptionId, primaryResourceGroupName)
  params: {
    languageAccountName: primaryLanguage.name
    principalId: appIdentity.properties.principalId
    roleDefinitionId: roles.languageOwner
  }
}

module primaryDocumentsContributor 'rbac/storage-role.bicep' = if (allowRestoreToPrimary) {
  name: 'rbac-primary-documents-contributor-${resourceToken}'
  scope: resourceGroup(primarySubscriptionId, primaryDocumentsStorageResourceGroupName)
  params: {
    storageAccountName: primaryDocumentsStorage.name
    principalId: appIdentity.properties.principalId
    roleDefinitionId: roles.storageBlobDataContributor
  }
}

// The secondary: import, train and deploy (deploy needs Owner), and copy the documents into its storage.
module secondaryLanguageOwner 'rbac/language-role.bicep' = {
  name: 'rbac-secondary-language-owner-${resourceToken}'
  scope: resourceGroup(secondaryResourceGroupName)
  params: {
    languageAccountName: createSecondaryLanguage ? secondaryLanguage.outputs.name : existingSecondaryLanguage.name
    principalId: appIdentity.properties.principalId
    roleDefinitionId: roles.languageOwner
  }
}

module secondaryDocumentsContributor 'rbac/storage-role.bicep' = {
  name: 'rbac-secondary-documents-contributor-${resourceToken}'
  scope: resourceGroup(secondaryResourceGroupName)
  params: {
    storageAccountName: createSecondaryLanguage ? secondaryLanguage.outputs.documentsStorageName : existingSecondaryDocumentsStorage.name
    principalId: appIdentity.properties.principalId
    roleDefinitionId: roles.storageBlobDataContributor
  }
}

// ---- role assignments: each Language resource's system identity on its own documents storage -----------------

module primaryLanguageStorageAccess 'rbac/storage-role.bicep' = if (assignLanguageStorageRoles) {
  name: 'rbac-primary-language-identity-documents-${resourceToken}'
  scope: resourceGroup(primarySubscriptionId, primaryDocumentsStorageResourceGroupName)
  params: {
    storageAccountName: primaryDocumentsStorage.name
    principalId: primaryLanguage.identity.principalId
    roleDefinitionId: roles.storageBlobDataContributor
  }
}

module secondaryLanguageStorageAccess 'rbac/storage-role.bicep' = if (assignLanguageStorageRoles) {
  name: 'rbac-secondary-language-identity-documents-${resourceToken}'
  scope: resourceGroup(secondaryResourceGroupName)
  params: {
    storageAccountName: createSecondaryLanguage ? secondaryLanguage.outputs.documentsStorageName : existingSecondaryDocumentsStorage.name
    principalId: createSecondaryLanguage ? secondaryLanguage.outputs.principalId : existingSecondaryLanguage.identity.principalId
    roleDefinitionId: roles.storageBlobDataContributor
  }
}

// ---- outputs (azd stores them in .azure/<env>/.env) ---------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_CLIENT_ID string = appIdentity.properties.clientId
// The app identity's object ID: grant it the roles on further targets (docs/how-to/deploy.md, "More targets").
output AZURE_PRINCIPAL_ID string = appIdentity.properties.principalId
output PRIMARY_LANGUAGE_ENDPOINT string = primaryLanguageEndpoint
output SECONDARY_LANGUAGE_ENDPOINT string = secondaryLanguageEndpoint
output SECONDARY_LANGUAGE_NAME string = effectiveSecondaryLanguageName
output SECONDARY_REGION string = secondaryRegion
output SECONDARY_DOCUMENTS_STORAGE string = secondaryDocumentsBlobEndpoint
output SNAPSHOT_STORAGE_ACCOUNT string = appStorage.outputs.name
output SNAPSHOT_CONTAINER string = snapshotContainerName
output ROUTING_CONTAINER string = routingContainerName
output ROUTING_URL string = '${appStorage.outputs.blobEndpoint}${routingContainerName}/promotion.json'
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
