// One role assignment on one Application Insights component. The caller names the role; its GUID and role
// name are listed once, in main.bicep's roles variable.

@description('Name of the Application Insights component, in the resource group this module is deployed to.')
param applicationInsightsName string

@description('Object ID of the principal that receives the role.')
param principalId string

@description('GUID of the role definition.')
param roleDefinitionId string

param principalType string = 'ServicePrincipal'

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, roleDefinitionId)
  scope: applicationInsights
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}

output id string = assignment.id
